// The few settings bomnipotent_server takes from its environment rather than config.toml, read in one place.
import type { Env } from './env';

/** BOMNIPOTENT_DB_WAIT_TIMEOUT: seconds to wait for the database at start (default 60). */
export function dbWaitTimeoutMs(env: Env): number {
  const seconds = Number(env.BOMNIPOTENT_DB_WAIT_TIMEOUT ?? 60);
  return (Number.isFinite(seconds) && seconds >= 0 ? seconds : 60) * 1000;
}
