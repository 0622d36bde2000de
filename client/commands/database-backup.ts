// database-backup create|list (completely-restore is added by database-backup-restore.ts).
import type { Command } from 'commander';
import type { ClientContext } from '../context';
import { formatSize } from '../progress-bar';
import { registerRestoreCommand } from './database-backup-restore';
import { registerStatusCommand } from './database-backup-status';
import { registerVerifyCommand } from './database-backup-verify';
import { registerRehearseCommand } from './database-backup-rehearse';
import { describePitrWindow, type PitrSummary } from '../../handlers/pitr/summary';
import { registerNotifyTestCommand } from './database-backup-notify-test';
import { registerOverviewCommand } from './database-backup-overview';

interface Listing {
  file: string;
  takenAt: string;
  sizeBytes: number;
  trigger: string | null;
  user: string | null;
  verified: boolean;
  state?: string;
  problem?: string;
  location?: 'local' | 'offsite' | 'both'; // from servers with off-site copies
  serverVersion?: string | null; // the PostgreSQL it was taken from, from servers that say it
  rehearsal?: Rehearsal | null; // from servers with rehearsals
}

type Rehearsal =
  | {
      state: 'passed' | 'failed';
      at: string;
      rows: number;
      tables: number;
      error: string | null;
      standby: { database: string; sizeBytes: number } | null;
    }
  | { state: 'untrusted'; reason: string };

interface OffsiteSummary {
  location: string;
  error?: string;
  incomplete: string[];
  foreign: string[];
}

interface Chain {
  problem: string | null;
}

export function registerBackupCommands(program: Command, ctx: ClientContext): void {
  const backup = program
    .command('database-backup')
    .description("Back up the server's database, list backups, restore");

  backup
    .command('create')
    .description('Make a backup now into the directory of the database_backup task (admin only)')
    .option(
      '--wait-rehearsal',
      'also wait for the rehearsal of the new backup (rehearse = true) and warn when it did not pass',
    )
    .action(
      ctx.action(async (options: { waitRehearsal?: boolean }) => {
        const response = await ctx.operation(
          'POST',
          '/database-backup',
          options.waitRehearsal ? { waitRehearsal: true } : undefined,
        );
        const { path, warnings } = response.json as { path: string; warnings?: string[] };
        const out = ctx.out();
        out.result(response, `Successfully stored database backup under '${path}'.`);
        // After the documented line, not instead of it: the backup exists; the exit code stays 0.
        for (const warning of warnings ?? []) out.log('warn', warning);
      }),
    );

  backup
    .command('list')
    .description(
      'List the backups on the server, newest first, each with its trust state from its signed manifest (admin only)',
    )
    .option('--offsite', 'List only the copies in the off-site store (the `offsite` key of the task)')
    .action(
      ctx.action(async (options: { offsite?: boolean }) => {
        const path = options.offsite ? '/database-backups?offsite=only' : '/database-backups';
        const response = await ctx.api().request('GET', path);
        const { backups, chain, offsite, pitr } = response.json as {
          backups: Listing[];
          chain?: Chain;
          offsite?: OffsiteSummary;
          pitr?: PitrSummary;
        };
        const out = ctx.out();
        if (chain?.problem) out.log('warn', `Backups are missing: ${chain.problem}.`);
        if (offsite) reportOffsite(out, offsite);
        out.result(
          response,
          backups.length === 0
            ? 'No database backups on the server yet.'
            : `Found ${backups.length} database backup(s), newest first:`,
        );
        if (backups.length > 0) out.detail(formatTable(backups));
        if (pitr?.problem) out.log('warn', `Point-in-time recovery: ${pitr.problem}.`);
        if (pitr) out.detail(describePitrWindow(pitr));
        const standby = backups.find((b) => b.rehearsal?.state === 'passed' && b.rehearsal.standby);
        if (standby?.rehearsal?.state === 'passed' && standby.rehearsal.standby) {
          const { database, sizeBytes } = standby.rehearsal.standby;
          out.detail(
            `Standby database '${database}' (${formatSize(sizeBytes)}, one more copy of the database) was built from ${standby.file}.`,
          );
        }
      }),
    );

  registerVerifyCommand(backup, ctx);
  registerRehearseCommand(backup, ctx);
  registerRestoreCommand(backup, ctx);
  registerStatusCommand(backup, ctx);
  registerNotifyTestCommand(backup, ctx);
  registerOverviewCommand(backup, ctx);
}

function reportOffsite(out: ReturnType<ClientContext['out']>, offsite: OffsiteSummary): void {
  if (offsite.error)
    out.log('warn', `The off-site store ${offsite.location} could not be read: ${offsite.error}`);
  if (offsite.incomplete.length > 0) {
    out.log(
      'warn',
      `Incomplete uploads in ${offsite.location} (not backups, retried on the next run): ${offsite.incomplete.join(', ')}`,
    );
  }
  if (offsite.foreign.length > 0) {
    out.log(
      'info',
      `Objects in ${offsite.location} that are not backups of this product: ${offsite.foreign.join(', ')}`,
    );
  }
}

export function formatTable(backups: readonly Listing[]): string {
  const located = backups.some((b) => b.location !== undefined);
  const rehearsed = backups.some((b) => b.rehearsal !== undefined);
  const versioned = backups.some((b) => typeof b.serverVersion === 'string');
  const rows = backups.map((b) => [
    b.takenAt.replace('T', ' ').replace(/\.\d+Z$|Z$/, ''),
    b.file,
    formatSize(b.sizeBytes),
    ...(versioned ? [b.serverVersion ?? '?'] : []),
    b.trigger ?? '?',
    ...(located ? [b.location ?? '?'] : []),
    ...(rehearsed ? [formatRehearsal(b.rehearsal ?? null)] : []),
    b.verified ? '✓ trusted' : `✗ ${b.state ?? 'untrusted'}: ${b.problem ?? ''}`.trimEnd(),
  ]);
  const header = [
    'TIME (UTC)',
    'FILE',
    'SIZE',
    ...(versioned ? ['POSTGRESQL'] : []),
    'TRIGGER',
    ...(located ? ['LOCATION'] : []),
    ...(rehearsed ? ['REHEARSED'] : []),
    'TRUST',
  ];
  // The last column is free text: it is not padded.
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

function formatRehearsal(r: Rehearsal | null): string {
  if (r === null) return '-';
  if (r.state === 'untrusted') return '✗ untrusted record';
  const at = r.at.slice(0, 16).replace('T', ' ');
  return r.state === 'passed' ? `✓ ${at} (${r.rows} rows)` : `✗ failed ${at}`;
}
