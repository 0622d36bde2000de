// The names a restore hands to createdb: the new database's locale and its own name, checked so that neither can be
// read as an option or a connection string by the tools.
import type { DatabaseLocale } from '../../handlers/backup/model';
import { invalidName } from './errors';

// Locale names as PostgreSQL reports them (en_US.UTF-8, C, de-DE-x-icu ...): nothing a tool could read as an option.
const SAFE_LOCALE = /^[A-Za-z0-9_][A-Za-z0-9_.@+-]{0,127}$/;

/** createdb options that give the new database the encoding and locale of the one it replaces. */
export function localeArguments(locale: DatabaseLocale | undefined): string[] {
  if (!locale) return [];
  const values = [locale.encoding, locale.collate, locale.ctype, locale.icuLocale ?? 'C'];
  if (!values.every((v) => SAFE_LOCALE.test(v))) throw invalidName('database locale', values.join(' / '));
  const args = [
    `--encoding=${locale.encoding}`,
    `--lc-collate=${locale.collate}`,
    `--lc-ctype=${locale.ctype}`,
  ];
  if (locale.provider === 'icu' && locale.icuLocale)
    args.push('--locale-provider=icu', `--icu-locale=${locale.icuLocale}`);
  return args;
}

// Plain identifiers only: such a name can be neither an option (-x) nor a connection string (a=b) for the tools.
const SAFE_DATABASE_NAME = /^[A-Za-z_][A-Za-z0-9_$-]{0,62}$/;

export function isSafeDatabaseName(name: string): boolean {
  return SAFE_DATABASE_NAME.test(name);
}
