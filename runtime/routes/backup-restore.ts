// Restore route (POST /database-backup/restore ...). A stub: owned and replaced by the restore work.
import type { Hono } from 'hono';
import type { BackupContext } from '../../handlers/backup/context';
import type { AppEnv } from '../http-env';

/** What the restore route needs; runtime/routes/backups.ts includes it in BackupRouteDeps. */
export interface RestoreRouteDeps {
  ctx: BackupContext;
}

export function registerRestoreRoutes(_app: Hono<AppEnv>, _deps: RestoreRouteDeps): void {}
