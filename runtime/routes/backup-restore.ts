// POST /database-backup/restore: the complete restore (admin only); the body is checked here, the handler trusts it.
import type { Context, Hono } from 'hono';
import { z } from 'zod';
import type { BackupDeps } from '../../handlers/backup/deps';
import { restoreBackup, type RestoreHooks } from '../../handlers/backup/restore-backup';
import { AppError } from '../../handlers/errors';
import { restoreToPoint } from '../../handlers/pitr/restore-to-point';
import { parseBody } from '../http/body';
import { principalOf, requireAdmin } from '../http/principal';
import type { AppEnv } from '../http/env';
import type { OperationDeps } from '../../handlers/operations/run-operation';
import { answerOrStart } from './operations';
import { ROUTES } from '../../handlers/api/routes';

export const restoreRequestSchema = z.strictObject({
  file: z.string().min(1).max(255).optional(),
  dryRun: z.boolean().optional(),
  allowUnsigned: z.boolean().optional(),
  allowNoAdmin: z.boolean().optional(),
  /** "The latest" must be this backup: its file name or its signed sequence (checked by the handler). */
  expectNewest: z.string().min(1).max(255).optional(),
  /** Point-in-time recovery: the instant to restore to (ISO 8601 with Z or an offset). */
  to: z.iso.datetime({ offset: true }).optional(),
});

/** What the restore route needs; runtime/routes/backups.ts includes it in BackupRouteDeps. */
export interface RestoreRouteDeps {
  ctx: BackupDeps;
  /** Test-only stops inside the restore; the server passes none. */
  restoreHooks?: RestoreHooks;
  /** Long operations (202 and polling); without it every request waits for its answer. */
  operations?: OperationDeps | undefined;
}

export function registerRestoreRoutes(app: Hono<AppEnv>, deps: RestoreRouteDeps): void {
  app.post(ROUTES.restoreBackup.path, requireAdmin(), async (c) => {
    const body = await parseBody(c, restoreRequestSchema, {
      what: 'restore request',
      whenEmpty: {},
      suggestion:
        'Send {"file"?: "<backup file name>", "dryRun"?: true|false, "allowUnsigned"?: true|false, "allowNoAdmin"?: true|false, "expectNewest"?: "<file name or sequence>"}.',
    });
    const user = principalOf(c).name;
    if (body.to !== undefined) return restoreToPointRoute(c, deps, user, body);
    const { file, dryRun, allowUnsigned, allowNoAdmin, expectNewest } = body;
    const params = {
      file: file ?? null,
      dryRun: dryRun === true,
      allowUnsigned: allowUnsigned === true,
      ...(allowNoAdmin ? { allowNoAdmin: true } : {}),
      ...(expectNewest === undefined ? {} : { expectNewest }),
    };
    return answerOrStart(c, deps.operations, { kind: 'restore', params, user }, async (progress) => {
      const result = await restoreBackup(
        { user, file, dryRun, allowUnsigned, allowNoAdmin, expectNewest },
        deps.ctx,
        {
          ...deps.restoreHooks,
          progress,
        },
      );
      return { status: 200, body: JSON.stringify(result) };
    });
  });
}

function restoreToPointRoute(
  c: Context<AppEnv>,
  deps: RestoreRouteDeps,
  user: string,
  body: z.output<typeof restoreRequestSchema>,
): Promise<Response> {
  if (body.file !== undefined || body.allowUnsigned !== undefined || body.expectNewest !== undefined)
    throw new AppError(
      'REQUEST.INVALID',
      'invalid',
      '"to" restores to a point in time and takes no "file", "allowUnsigned" or "expectNewest".',
      {
        suggestion: 'Send either {"to": "<time>"} or {"file": "<name>"}.',
      },
    );
  const to = new Date(body.to!).toISOString();
  const dryRun = body.dryRun === true;
  const params = { to, dryRun };
  return answerOrStart(c, deps.operations, { kind: 'restore', params, user }, async (progress) => {
    const result = await restoreToPoint({ user, to, dryRun }, deps.ctx, { ...deps.restoreHooks, progress });
    return { status: 200, body: JSON.stringify(result) };
  });
}
