import { describe, expect, it } from 'vitest';
import { createBackup } from '../../handlers/backup/create-backup';
import { AppError, BACKUP_TASK_EXAMPLE } from '../../handlers/errors';
import { statusOf } from '../../runtime/http/app';
import { defaultSettings, fakeWorld } from './backup-fakes';

const manual = { trigger: 'manual' as const, user: 'admin@example.com' };

async function rejection(promise: Promise<unknown>): Promise<AppError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AppError);
  return error as AppError;
}

describe('createBackup', () => {
  it('fails with the task example when the database_backup task is missing', async () => {
    const world = fakeWorld(null);
    const error = await rejection(createBackup(manual, world.ctx));
    expect(error.code).toBe('BACKUP.TASK_NOT_CONFIGURED');
    expect(error.kind).toBe('misconfigured');
    expect(error.suggestion).toContain(BACKUP_TASK_EXAMPLE);
    expect(world.executor.dumps).toEqual([]);
  });

  it('dumps under the documented name with seeded metadata, logs, counts and audits it', async () => {
    const world = fakeWorld();
    world.executor.onDump = async () => world.setNow(new Date('2026-01-11T10:30:26.500Z'));
    const result = await createBackup(manual, world.ctx);

    expect(result.path).toBe('/backups/bomnipotent_db_20260111_103024.dump');
    expect(result.metadata).toMatchObject({
      file: 'bomnipotent_db_20260111_103024.dump',
      database: 'bomnipotent_db',
      serverVersion: '15.20',
      schemaVersion: 2,
      appVersion: '0.1.0',
      startedAt: '2026-01-11T10:30:24.000Z',
      trigger: 'manual',
      user: 'admin@example.com',
    });
    expect(world.logger.lines).toContain(
      '[INFO] Starting database backup (manual, requested by admin@example.com) into /backups',
    );
    expect(world.logger.lines).toContain(
      '[INFO] Stored database backup /backups/bomnipotent_db_20260111_103024.dump (2.0 KB, 2.5 seconds)',
    );
    expect(world.metrics.succeeded).toHaveLength(1);
    expect(world.metrics.failed).toEqual([]);
    expect(world.executor.audits).toEqual([
      expect.objectContaining({
        action: 'backup',
        outcome: 'succeeded',
        user: 'admin@example.com',
        trigger: 'manual',
        file: 'bomnipotent_db_20260111_103024.dump',
      }),
    ]);
  });

  it('logs a scheduled run without a requester', async () => {
    const world = fakeWorld();
    await createBackup({ trigger: 'scheduled', user: null }, world.ctx);
    expect(world.logger.lines).toContain('[INFO] Starting database backup (scheduled) into /backups');
  });

  it('picks the next free name for a second backup within the same second', async () => {
    const world = fakeWorld();
    const first = await createBackup(manual, world.ctx);
    const second = await createBackup(manual, world.ctx);
    expect(first.metadata.file).toBe('bomnipotent_db_20260111_103024.dump');
    expect(second.metadata.file).toBe('bomnipotent_db_20260111_103024_2.dump');
  });

  it('continues the chain after the sequence recorded in the database, even when the directory lost it', async () => {
    const world = fakeWorld();
    world.chain.recorded.set('bomnipotent_db', 7);
    const result = await createBackup(manual, world.ctx);
    expect(result.metadata.sequence).toBe(8);
    expect(world.chain.recorded.get('bomnipotent_db')).toBe(8);
  });

  it('answers BACKUP.BUSY (409) while another backup or restore holds the lock, and dumps nothing', async () => {
    const world = fakeWorld();
    world.admin.lockHeld = true;
    const error = await rejection(createBackup(manual, world.ctx));
    expect(error.code).toBe('BACKUP.BUSY');
    expect(statusOf(error.kind)).toBe(409);
    expect(world.executor.dumps).toEqual([]);
    expect(world.metrics.failed).toEqual([]); // nothing is wrong with the backups
    expect(world.executor.audits).toEqual([expect.objectContaining({ outcome: 'refused', file: null })]);
  });

  it('makes a second concurrent backup wait for nothing: it is refused with BACKUP.BUSY', async () => {
    const world = fakeWorld();
    let release!: () => void;
    world.executor.onDump = () => new Promise<void>((resolve) => (release = resolve));
    const first = createBackup(manual, world.ctx);
    await new Promise((r) => setTimeout(r, 0));
    const error = await rejection(createBackup(manual, world.ctx));
    expect(error.code).toBe('BACKUP.BUSY');
    release();
    await expect(first).resolves.toMatchObject({ path: '/backups/bomnipotent_db_20260111_103024.dump' });
  });

  it('refuses when the free space is below the database size, naming both in MB, and dumps nothing', async () => {
    const world = fakeWorld();
    world.executor.free = 10 * 1024 * 1024;
    world.admin.sizeBytes = 50 * 1024 * 1024;
    const error = await rejection(createBackup({ trigger: 'scheduled', user: null }, world.ctx));
    expect(error.code).toBe('BACKUP.INSUFFICIENT_SPACE');
    expect(error.message).toContain('10 MB free');
    expect(error.message).toContain('50 MB needed');
    expect(world.executor.dumps).toEqual([]);
    expect(world.metrics.failed).toEqual(['scheduled']);
    expect(world.executor.audits).toEqual([
      expect.objectContaining({ outcome: 'refused', trigger: 'scheduled' }),
    ]);
  });

  it('records a failed dump in metrics, audit and log, rethrows it, and runs no retention', async () => {
    const world = fakeWorld(defaultSettings({ keep: 1 }));
    world.executor.addBackup('bomnipotent_db_20260101_000000.dump');
    world.executor.addBackup('bomnipotent_db_20260102_000000.dump');
    world.executor.dumpError = new AppError('EXECUTOR.DUMP_FAILED', 'failed', 'pg_dump exited with code 1.');
    const error = await rejection(createBackup(manual, world.ctx));
    expect(error.code).toBe('EXECUTOR.DUMP_FAILED');
    expect(world.metrics.failed).toEqual(['manual']);
    expect(world.metrics.succeeded).toEqual([]);
    expect(world.executor.audits).toEqual([
      expect.objectContaining({
        outcome: 'failed',
        file: null, // the executor names the file; a dump that failed has none
        message: 'pg_dump exited with code 1.',
      }),
    ]);
    expect(world.logger.lines).toContain(
      '[ERROR] Database backup (manual) failed: pg_dump exited with code 1.',
    );
    expect(world.executor.removed).toEqual([]);
  });

  it('removes a new backup that fails verification and reports BACKUP.VERIFICATION_FAILED', async () => {
    const world = fakeWorld();
    world.executor.corruptNewDumps = 'checksum mismatch';
    const error = await rejection(createBackup(manual, world.ctx));
    expect(error.code).toBe('BACKUP.VERIFICATION_FAILED');
    expect(error.message).toContain('checksum mismatch');
    expect(world.executor.files.size).toBe(0);
    expect(world.metrics.failed).toEqual(['manual']);
    expect(world.executor.audits[0]?.outcome).toBe('failed');
  });

  it('skips verification when verifyAfterBackup is off', async () => {
    const world = fakeWorld(defaultSettings({ verifyAfterBackup: false }));
    world.executor.corruptNewDumps = 'checksum mismatch';
    await createBackup(manual, world.ctx);
    expect(world.executor.files.size).toBe(1);
  });

  it('applies retention after a successful backup', async () => {
    const world = fakeWorld(defaultSettings({ keep: 2 }));
    world.executor.addBackup('bomnipotent_db_20260101_000000.dump');
    world.executor.addBackup('bomnipotent_db_20260102_000000.dump');
    world.executor.addBackup('bomnipotent_db_20260103_000000.dump');
    await createBackup(manual, world.ctx);
    expect([...world.executor.files.keys()].sort()).toEqual([
      'bomnipotent_db_20260103_000000.dump',
      'bomnipotent_db_20260111_103024.dump',
    ]);
  });

  it('does not fail a good backup because the audit log cannot be written', async () => {
    const world = fakeWorld();
    world.executor.auditError = new Error('read-only file system');
    await expect(createBackup(manual, world.ctx)).resolves.toBeDefined();
    expect(world.metrics.succeeded).toHaveLength(1);
    expect(
      world.logger.lines.some((l) => l.startsWith('[WARN] Could not append to the backup audit log')),
    ).toBe(true);
  });
});
