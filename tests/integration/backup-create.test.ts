// createBackup, listing and retention with the real executor and PostgreSQL, once in-process and once through the
// executor sidecar process (tests/support/executors.ts): the same behaviour must hold for both.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { BackupDeps } from '../../handlers/backup/deps';
import { testTaskSource } from '../support/backup-task';
import { testBackupSettings } from '../support/backup-settings';
import { createBackup } from '../../handlers/backup/create-backup';
import { listBackups } from '../../handlers/backup/list-backups';
import { backupLockName } from '../../handlers/backup/lock';
import type { BackupTaskSettings } from '../../handlers/backup/settings';
import { AppError } from '../../handlers/errors';
import type { DatabaseAdmin } from '../../handlers/ports/database-admin';
import type { Executor } from '../../runtime/executor/executor';
import { createDatabaseAdmin, type DatabaseAdminHandle } from '../../runtime/db/admin';
import { createMaintenanceMode } from '../../runtime/http/maintenance';
import { createMetricsRegistry } from '../../runtime/observability/metrics';
import { silentLogger } from '../../runtime/observability/logger';
import { executorKinds, type ExecutorUnderTest } from '../support/executors';
import { adminQuery, adminUrl, createTestDatabase, type TestDatabase } from '../support/pg';
import { recordingLogger } from '../unit/backup-fakes';
import { EXECUTOR_SIGNER, EXECUTOR_TRUST } from '../support/backup-signer';
import { systemClock } from '../../runtime/observability/system-clock';
import { idleLifecycle } from '../support/recording-logger';

const manual = { trigger: 'manual' as const, user: 'admin@example.com' };

function backupContext(options: {
  executor: Executor;
  admin: DatabaseAdmin;
  directory: string;
  overrides: Partial<BackupTaskSettings>;
}) {
  const { executor, admin, directory, overrides } = options;
  const logger = recordingLogger();
  const metrics = createMetricsRegistry();
  // Plain files (compression none), so that these tests can read the SQL; format 2 tests cover zstd.
  const settings: BackupTaskSettings = testBackupSettings({
    directory,
    signingKey: { path: '/unused/backup-signing-key.pem', generate: false },
    ...overrides,
  });
  const chain = new Map<string, number>();
  const ctx: BackupDeps = {
    task: testTaskSource({
      settings: () => settings,
      executor: () => executor,
      signer: () => EXECUTOR_SIGNER,
    }),
    chain: {
      newestSequence: async (db) => chain.get(db) ?? 0,
      record: async (db, n) => void chain.set(db, Math.max(n, chain.get(db) ?? 0)),
    },
    admin,
    lifecycle: idleLifecycle(0),
    maintenance: createMaintenanceMode(),
    metrics,
    clock: systemClock(() => new Date()),
    logger,
    appVersion: '0.1.0-test',
  };
  return { ctx, executor, logger, metrics };
}

describe.each(executorKinds)('createBackup with the real $name executor and PostgreSQL', (kind) => {
  let db: TestDatabase;
  let admin: DatabaseAdminHandle;
  // One directory for the whole suite: the sidecar serves only the directory it was started with.
  let directory: string;
  let under: ExecutorUnderTest;

  beforeAll(async () => {
    db = await createTestDatabase(`bt_backup_${kind.name}`);
    await adminQuery(`CREATE TABLE sbom (id serial PRIMARY KEY, name text NOT NULL)`, [], db.name);
    await adminQuery(
      `INSERT INTO sbom (name) SELECT 'component-' || g FROM generate_series(1, 500) g`,
      [],
      db.name,
    );
    admin = createDatabaseAdmin({ url: db.url, logger: silentLogger() });
    directory = mkdtempSync(join(tmpdir(), `bomnipotent-backups-${kind.name}-`));
    under = await kind.start({ dbUrl: db.url, directory });
  });

  afterAll(async () => {
    await under?.close();
    await admin?.close();
    await db?.drop();
    if (directory) rmSync(directory, { recursive: true, force: true });
  });

  beforeEach(() => {
    // Each test starts from an empty directory.
    for (const entry of readdirSync(directory))
      rmSync(join(directory, entry), { recursive: true, force: true });
  });

  const contextFor = (overrides: Partial<BackupTaskSettings> = {}) =>
    backupContext({ executor: under.executor, admin, directory, overrides });

  it('writes a verified dump of the database under the documented name', async () => {
    const { ctx, executor, logger, metrics } = contextFor();
    const { path, metadata } = await createBackup(manual, ctx);

    expect(path).toBe(join(directory, metadata.file));
    expect(metadata.file).toMatch(new RegExp(`^${db.name}_\\d{8}_\\d{6}(_\\d+)?\\.dump$`));
    expect(metadata).toMatchObject({
      database: db.name,
      trigger: 'manual',
      user: 'admin@example.com',
      appVersion: '0.1.0-test',
    });
    expect(metadata.serverVersion).toMatch(/^\d+\.\d+$/);
    expect(await executor.verify(directory, metadata.file, EXECUTOR_TRUST)).toMatchObject({ ok: true });
    const dump = readFileSync(path, 'utf8');
    expect(dump).toContain('component-500');
    expect(dump).toContain('PostgreSQL database dump complete');
    expect(logger.lines.some((l) => l.startsWith(`[INFO] Stored database backup ${path} (`))).toBe(true);
    expect(await metrics.renderPrometheus()).toContain('bomnipotent_backup_success_total 1\n');
  });

  it("ends the dump's progress full, at the bytes it really wrote, then goes on to the next phases", async () => {
    const { ctx } = contextFor({ verifyAfterBackup: true });
    const seen: { phase: string; total: number | null; done: number | null }[] = [];
    const progress = {
      phase: (phase: string, total: number | null = null) => void seen.push({ phase, total, done: null }),
      bytes: (done: number) => void (seen.at(-1)!.done = done),
    };
    await createBackup(manual, ctx, { progress });
    const dumping = seen.filter((s) => s.phase === 'dumping');
    expect(dumping[0]).toEqual({ phase: 'dumping', total: null, done: null }); // indeterminate until bytes come
    if (kind.name === 'sidecar') {
      expect(dumping).toHaveLength(1); // the sidecar reports no bytes: the bar stays indeterminate, never 0 %
    } else {
      // Then the database's size as a guess, then the bytes the dump wrote as the total, reached in full.
      expect(dumping).toHaveLength(3);
      const last = dumping.at(-1)!;
      expect(last.total).toBeGreaterThan(0);
      expect(last.done).toBe(last.total);
    }
    expect(seen.map((s) => s.phase).slice(-1)).toEqual(['verifying']);
  });

  it('answers BACKUP.BUSY to the second of two concurrent backups', async () => {
    const { ctx } = contextFor();
    const results = await Promise.allSettled([createBackup(manual, ctx), createBackup(manual, ctx)]);
    const fulfilled = results.filter((r) => r.status === 'fulfilled');
    const rejected = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(fulfilled).toHaveLength(1);
    expect(rejected).toHaveLength(1);
    expect(rejected[0]!.reason).toBeInstanceOf(AppError);
    expect((rejected[0]!.reason as AppError).code).toBe('BACKUP.BUSY');
    expect(readdirSync(directory).filter((f) => f.endsWith('.dump'))).toHaveLength(1);
  });

  it('answers BACKUP.BUSY while another replica holds the lock, and writes nothing', async () => {
    const { ctx } = contextFor();
    const replica = new pg.Client({ connectionString: adminUrl() }); // the maintenance database, as a replica would
    await replica.connect();
    try {
      await replica.query('SELECT pg_advisory_lock(hashtext($1))', [backupLockName(db.name)]);
      await expect(createBackup(manual, ctx)).rejects.toMatchObject({ code: 'BACKUP.BUSY' });
      expect(readdirSync(directory).filter((f) => f.endsWith('.dump'))).toEqual([]);
    } finally {
      await replica.end();
    }
    await expect(createBackup(manual, ctx)).resolves.toBeDefined();
  });

  it('lists backups newest first, verified', async () => {
    const { ctx } = contextFor();
    const first = await createBackup(manual, ctx);
    const second = await createBackup({ trigger: 'scheduled', user: null }, ctx);
    const listed = await listBackups(ctx);
    expect(listed.map((l) => l.file)).toEqual([second.metadata.file, first.metadata.file]);
    expect(listed.map((l) => [l.verified, l.trigger])).toEqual([
      [true, 'scheduled'],
      [true, 'manual'],
    ]);
    expect(listed[0]!.path).toBe(second.path);
  });

  it('keeps the newest two of four backups and never touches a foreign file', async () => {
    const { ctx } = contextFor({ keep: 2 });
    writeFileSync(join(directory, 'notes.txt'), 'do not delete');
    const made: string[] = [];
    for (let i = 0; i < 4; i += 1) made.push((await createBackup(manual, ctx)).metadata.file);
    const dumps = readdirSync(directory)
      .filter((f) => f.endsWith('.dump'))
      .sort();
    expect(dumps).toEqual(made.slice(2).sort());
    expect(readFileSync(join(directory, 'notes.txt'), 'utf8')).toBe('do not delete');
  });

  it('refuses when the directory has too little space for the database, without dumping', async () => {
    const { ctx, executor, metrics } = contextFor();
    // The real free space of the real directory, against a database that claims to be larger.
    const free = await executor.freeBytes(directory);
    const tooBig: DatabaseAdmin = { ...admin, databaseSizeBytes: async () => free + 1024 ** 3 };
    await expect(createBackup(manual, { ...ctx, admin: tooBig })).rejects.toMatchObject({
      code: 'BACKUP.INSUFFICIENT_SPACE',
    });
    expect(readdirSync(directory).filter((f) => f.endsWith('.dump'))).toEqual([]);
    expect(await metrics.renderPrometheus()).toContain(
      'bomnipotent_backup_failures_total{trigger="manual"} 1\n',
    );
  });
});
