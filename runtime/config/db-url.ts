// db_url: only postgres:// or postgresql:// with a host and a database; its password is registered as a secret.
import { registerSecret } from '../observability/mask';

export const DB_URL_FORM = 'postgres://<user>:<password>@<host>:<port>/<database>';

/** Registers the password (raw and decoded) so that no later log line or message can show it. */
export function registerDbUrlSecrets(value: string): void {
  const userinfo = /^[^:/?#\s]*:\/\/([^/?#\s]*)@/.exec(value)?.[1];
  const colon = userinfo?.indexOf(':') ?? -1;
  if (!userinfo || colon < 0) return;
  const password = userinfo.slice(colon + 1);
  registerSecret(password);
  try {
    registerSecret(decodeURIComponent(password));
  } catch {
    // Not valid percent-encoding: the raw form is registered already.
  }
}

/** What is wrong with the URL, in words that never repeat any part of it; null when it is fine. */
export function findDbUrlProblem(value: string): string | null {
  if (value.trim() === '') return 'it is empty (remove db_url to use the embedded PostgreSQL)';
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'it is not a valid URL (percent-encode special characters in the user and password, e.g. @ as %40)';
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    return 'the scheme must be postgres:// or postgresql://';
  }
  if (url.hostname === '') return 'the host is missing';
  const database = url.pathname.replace(/^\//, '');
  if (database === '') return 'the database name is missing after the host';
  if (database.includes('/')) return 'the database name must not contain "/"';
  return null;
}
