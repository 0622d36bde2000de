// The one app around a backup test world, as runtime/deps.ts builds it, without accounts or metrics behind it.
import type { MiddlewareHandler } from 'hono';
import type { BackupDeps } from '../../handlers/backup/deps';
import { createApp } from '../../runtime/http/app';
import type { AppEnv } from '../../runtime/http/env';
import { silentLogger } from '../../runtime/observability/logger';

export function backupTestApp(
  ctx: BackupDeps,
  authenticate: MiddlewareHandler<AppEnv> = async (_c, next) => next(),
) {
  return createApp({
    logger: silentLogger(),
    health: { pingDatabase: async () => true },
    maintenance: ctx.maintenance,
    authenticate,
    accounts: {} as never,
    backups: { ctx, metrics: { renderPrometheus: () => '' } },
  });
}
