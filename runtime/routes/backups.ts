// Backup routes (create, list), the restore route's wiring, and GET /metrics.
import type { Hono } from 'hono';
import type { BackupContext } from '../../handlers/backup/context';
import { createBackup } from '../../handlers/backup/create-backup';
import { listBackupsWithLocations } from '../../handlers/offsite/list';
import { AppError } from '../../handlers/errors';
import { requireAdmin } from '../auth/require';
import type { AppEnv } from '../http-env';
import { registerRestoreRoutes, type RestoreRouteDeps } from './backup-restore';

export type BackupRouteDeps = RestoreRouteDeps & {
  ctx: BackupContext;
  metrics: { renderPrometheus(): string };
};

export function registerBackupRoutes(app: Hono<AppEnv>, deps: BackupRouteDeps): void {
  // 201 with the metadata and the absolute path on the server: raw-mode clients print exactly this.
  app.post('/database-backup', requireAdmin(), async (c) => {
    const { path, metadata } = await createBackup(
      { trigger: 'manual', user: principalName(c.get('principal')) },
      deps.ctx,
    );
    return c.json({ ...metadata, path }, 201);
  });

  app.get('/database-backups', requireAdmin(), async (c) =>
    c.json(await listBackupsWithLocations(deps.ctx, { offsiteOnly: c.req.query('offsite') === 'only' })),
  );

  // Unauthenticated like most scrape targets; it exposes backup and restore counters and times only.
  app.get('/metrics', (c) =>
    c.body(deps.metrics.renderPrometheus(), 200, {
      'content-type': 'text/plain; version=0.0.4; charset=utf-8',
    }),
  );

  registerRestoreRoutes(app, deps);
}

function principalName(principal: { name: string } | undefined): string {
  // requireAdmin ran first; this only satisfies the type.
  if (!principal)
    throw new AppError('AUTH.SIGNATURE_MISSING', 'unauthenticated', 'This request needs a signed request.');
  return principal.name;
}
