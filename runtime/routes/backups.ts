// Backup routes (create, list), the restore route's wiring, and GET /metrics.
import type { Hono } from 'hono';
import type { BackupDeps } from '../../handlers/backup/deps';
import { createBackup } from '../../handlers/backup/create-backup';
import { listBackupsWithLocations } from '../../handlers/offsite/list';
import { verifyBackups } from '../../handlers/backup/verify-backups';
import { rehearseBackup } from '../../handlers/backup/rehearse-backup';
import { rehearsePoint } from '../../handlers/pitr/rehearse-point';
import { awaitRehearsal } from '../../handlers/backup/rehearsal-queue';
import { z } from 'zod';
import { parseBody } from '../http/body';
import { principalOf, requireAdmin } from '../http/principal';
import type { AppEnv } from '../http/env';
import { registerRestoreRoutes, type RestoreRouteDeps } from './backup-restore';
import { answerOrStart, registerOperationRoutes } from './operations';
import { pathsOf, ROUTES } from '../../handlers/api/routes';

const verifyRequestSchema = z.strictObject({ file: z.string().min(1).max(255).optional() });
const rehearseRequestSchema = z
  .strictObject({ file: z.string().min(1).max(255).optional(), pitr: z.boolean().optional() })
  .refine((r) => !(r.pitr === true && r.file !== undefined), {
    message: 'pitr and file exclude each other: a restore to a point rehearses no backup file',
  });
const createRequestSchema = z.strictObject({ waitRehearsal: z.boolean().optional() });

export type BackupRouteDeps = RestoreRouteDeps & {
  ctx: BackupDeps;
  metrics: { renderPrometheus(): string | Promise<string>; contentType?: string };
  /** `notify-test`: a test message to every [[notify]] channel (absent: the route answers that none is set up). */
  notifyTest?: (user: string) => Promise<{ channel: string; ok: boolean; error: string | null }[]>;
};

export function registerBackupRoutes(app: Hono<AppEnv>, deps: BackupRouteDeps): void {
  // 201 with the metadata and the absolute path on the server: raw-mode clients print exactly this.
  app.post(ROUTES.createBackup.path, requireAdmin(), async (c) => {
    const { waitRehearsal } = await parseBody(c, createRequestSchema, {
      what: 'backup request',
      whenEmpty: {},
      suggestion: 'Send nothing, or {"waitRehearsal": true} to wait for the rehearsal of the new backup.',
    });
    const user = principalOf(c).name;
    const params = waitRehearsal === true ? { waitRehearsal: true } : {};
    return answerOrStart(c, deps.operations, { kind: 'backup', params, user }, async (progress) => {
      const { path, metadata, warnings } = await createBackup({ trigger: 'manual', user }, deps.ctx, {
        progress,
      });
      // The backup stands; a rehearsal that did not pass is one more warning after the success line.
      const rehearsal =
        waitRehearsal === true ? await awaitRehearsal(deps.ctx, metadata.file, progress) : null;
      if (rehearsal !== null) warnings.push(rehearsal);
      // warnings only when there are some: the answer of a backup that went all the way stays as it was.
      return {
        status: 201,
        body: JSON.stringify({ ...metadata, path, ...(warnings.length > 0 ? { warnings } : {}) }),
      };
    });
  });

  // The list and verify answer under their former names (/database-backups) too, for clients from before.
  app.on('GET', pathsOf(ROUTES.listBackups), requireAdmin(), async (c) =>
    c.json(await listBackupsWithLocations(deps.ctx, { offsiteOnly: c.req.query('offsite') === 'only' })),
  );

  app.on('POST', pathsOf(ROUTES.verifyBackups), requireAdmin(), async (c) => {
    const { file } = await parseBody(c, verifyRequestSchema, {
      what: 'verify request',
      whenEmpty: {},
      suggestion: 'Send {"file"?: "<backup file name>"}.',
    });
    return c.json({ results: await verifyBackups(deps.ctx, { file }) });
  });

  // A rehearsal by hand: the backup restored into the standby and checked; long, so an operation like a restore.
  app.post(ROUTES.rehearseBackup.path, requireAdmin(), async (c) => {
    const { file, pitr } = await parseBody(c, rehearseRequestSchema, {
      what: 'rehearse request',
      whenEmpty: {},
      suggestion: 'Send {"file"?: "<backup file name>"} or {"pitr": true}.',
    });
    const user = principalOf(c).name;
    if (pitr === true)
      return answerOrStart(
        c,
        deps.operations,
        { kind: 'rehearsal', params: { pitr: true }, user },
        async () => {
          const record = await rehearsePoint(deps.ctx);
          return { status: 200, body: JSON.stringify(record) };
        },
      );
    const params = { file: file ?? null };
    return answerOrStart(c, deps.operations, { kind: 'rehearsal', params, user }, async (progress) => {
      const record = await rehearseBackup({ file, user }, deps.ctx, { progress });
      return { status: 200, body: JSON.stringify(record) };
    });
  });

  // Admin only: it reaches out to every configured receiver.
  app.post(ROUTES.notifyTest.path, requireAdmin(), async (c) => {
    const user = principalOf(c).name;
    return c.json({ results: deps.notifyTest ? await deps.notifyTest(user) : [] });
  });

  // Unauthenticated like most scrape targets; it exposes backup and restore counters and times only.
  app.get(ROUTES.metrics.path, async (c) =>
    c.body(await deps.metrics.renderPrometheus(), 200, {
      'content-type': deps.metrics.contentType ?? 'text/plain; version=0.0.4; charset=utf-8',
    }),
  );

  registerRestoreRoutes(app, deps);
  registerOperationRoutes(app, deps.operations);
}
