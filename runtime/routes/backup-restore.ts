// POST /database-backup/restore: the complete restore (admin only); the body is checked here, the handler trusts it.
import type { Hono } from 'hono';
import { z } from 'zod';
import { AppError } from '../../handlers/errors';
import type { BackupContext } from '../../handlers/backup/context';
import { restoreBackup, type RestoreHooks } from '../../handlers/backup/restore-backup';
import { requireAdmin } from '../auth/require';
import type { AppEnv } from '../http-env';

export const restoreRequestSchema = z.strictObject({
  file: z.string().min(1).max(255).optional(),
  dryRun: z.boolean().optional(),
  allowUnsigned: z.boolean().optional(),
});

/** What the restore route needs; runtime/routes/backups.ts includes it in BackupRouteDeps. */
export interface RestoreRouteDeps {
  ctx: BackupContext;
  /** Test-only stops inside the restore; the server passes none. */
  restoreHooks?: RestoreHooks;
}

export function registerRestoreRoutes(app: Hono<AppEnv>, deps: RestoreRouteDeps): void {
  app.post('/database-backup/restore', requireAdmin(), async (c) => {
    const text = await c.req.text();
    let body: unknown = {};
    try {
      if (text.trim()) body = JSON.parse(text);
    } catch {
      throw invalidBody('the body is not JSON');
    }
    const parsed = restoreRequestSchema.safeParse(body);
    if (!parsed.success) throw invalidBody(z.prettifyError(parsed.error).replace(/\n+/g, ' '));
    // requireAdmin ran, so the principal is set.
    const user = c.get('principal')?.name ?? 'unknown';
    const result = await restoreBackup(
      { user, file: parsed.data.file, dryRun: parsed.data.dryRun, allowUnsigned: parsed.data.allowUnsigned },
      deps.ctx,
      deps.restoreHooks,
    );
    return c.json(result, 200);
  });
}

function invalidBody(reason: string): AppError {
  return new AppError('REQUEST.INVALID_BODY', 'invalid', `The restore request is malformed: ${reason}.`, {
    suggestion: 'Send {"file"?: "<backup file name>", "dryRun"?: true|false, "allowUnsigned"?: true|false}.',
  });
}
