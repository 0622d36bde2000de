// What the account handlers need: the store, time, a logger and the current settings (read per call for hot reload).
import type { Clock } from '../ports/clock';
import type { Logger } from '../ports/logger';
import type { AccountStore } from '../ports/account-store';

export interface AccountSettings {
  tmpAdmin: string | undefined; // normalized like user names
  /** When set, only a request signed with the key of this fingerprint gets the tmp_admin powers. */
  tmpAdminKey: string | undefined;
  /** The server's own origin (from `domain`); undefined: the request's Host must match the signed domain. */
  origin: string | undefined;
  expirationPeriodMs: number;
  signatureWindowMs: number;
}

export interface AccountDeps {
  store: AccountStore;
  /** Only now(): accounts keep times, they never wait. */
  clock: Pick<Clock, 'now'>;
  logger: Logger;
  settings(): AccountSettings;
}
