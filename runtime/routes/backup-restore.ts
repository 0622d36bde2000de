// POST /database-backup/restore: the complete restore (admin only); the body is checked here, the handler trusts it.
import type { Hono } from 'hono';
import { z } from 'zod';
import type { BackupContext } from '../../handlers/backup/context';
import { restoreBackup, type RestoreHooks } from '../../handlers/backup/restore-backup';
import { parseBody } from '../http/body';
import { principalOf, requireAdmin } from '../http/principal';
import type { AppEnv } from '../http-env';

export const restoreRequestSchema = z.strictObject({
  file: z.string().min(1).max(255).optional(),
  dryRun: z.boolean().optional(),
});

/** What the restore route needs; runtime/routes/backups.ts includes it in BackupRouteDeps. */
export interface RestoreRouteDeps {
  ctx: BackupContext;
  /** Test-only stops inside the restore; the server passes none. */
  restoreHooks?: RestoreHooks;
}

export function registerRestoreRoutes(app: Hono<AppEnv>, deps: RestoreRouteDeps): void {
  app.post('/database-backup/restore', requireAdmin(), async (c) => {
    const body = await parseBody(c, restoreRequestSchema, {
      what: 'restore request',
      whenEmpty: {},
      suggestion: 'Send {"file"?: "<backup file name>", "dryRun"?: true|false}.',
    });
    const result = await restoreBackup(
      { user: principalOf(c).name, file: body.file, dryRun: body.dryRun },
      deps.ctx,
      deps.restoreHooks,
    );
    return c.json(result, 200);
  });
}
