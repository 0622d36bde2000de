// Backup routes (create, list), the restore route's wiring, and GET /metrics.
import type { Hono } from 'hono';
import type { BackupContext } from '../../handlers/backup/context';
import { createBackup } from '../../handlers/backup/create-backup';
import { listBackups } from '../../handlers/backup/list-backups';
import { principalOf, requireAdmin } from '../http/principal';
import type { AppEnv } from '../http-env';
import { registerRestoreRoutes, type RestoreRouteDeps } from './backup-restore';

export type BackupRouteDeps = RestoreRouteDeps & {
  ctx: BackupContext;
  metrics: { renderPrometheus(): string };
};

export function registerBackupRoutes(app: Hono<AppEnv>, deps: BackupRouteDeps): void {
  // 201 with the metadata and the absolute path on the server: raw-mode clients print exactly this.
  app.post('/database-backup', requireAdmin(), async (c) => {
    const { path, metadata } = await createBackup({ trigger: 'manual', user: principalOf(c).name }, deps.ctx);
    return c.json({ ...metadata, path }, 201);
  });

  app.get('/database-backups', requireAdmin(), async (c) => c.json({ backups: await listBackups(deps.ctx) }));

  // Unauthenticated like most scrape targets; it exposes backup and restore counters and times only.
  app.get('/metrics', (c) =>
    c.body(deps.metrics.renderPrometheus(), 200, {
      'content-type': 'text/plain; version=0.0.4; charset=utf-8',
    }),
  );

  registerRestoreRoutes(app, deps);
}
