// What the account handlers need: the store, time, a logger and the current settings (read per call for hot reload).
import type { Clock, Logger } from '../ports';
import type { AccountStore } from './ports';

export interface AccountSettings {
  tmpAdmin: string | undefined; // normalized like user names
  expirationPeriodMs: number;
  signatureWindowMs: number;
}

export interface AccountDeps {
  store: AccountStore;
  clock: Clock;
  logger: Logger;
  settings(): AccountSettings;
}
