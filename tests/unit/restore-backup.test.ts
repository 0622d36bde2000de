import { describe, it, expect, vi } from 'vitest';
import { restoreBackup } from '../../handlers/backup/restore-backup';
import { restoreDatabaseNames, restoreStamp } from '../../handlers/backup/database-names';
import { AppError, isAppError } from '../../handlers/errors';
import { createFakeWorld, DIR, metadataFor } from '../support/restore-fakes';
import type { NotifyStore } from '../../runtime/db/notify-store';
import type { NotifyChannel } from '../../runtime/notify/channel';
import { createNotifier } from '../../runtime/notify/notifier';

const SCRATCH = 'app_restore_20260203040506';
const ASIDE = 'app_pre_restore_20260203040506';

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (isAppError(error)) return error.code;
    throw error;
  }
  throw new Error('expected a failure');
}

describe('restoreBackup with fakes of the ports', () => {
  it('reports the phases after the load (the swap, migrations, carry-over) instead of sitting at the end of the load', async () => {
    const w = createFakeWorld();
    w.files.set('app_20260102_000000.dump', { content: 'newest' });
    const phases: string[] = [];
    await restoreBackup({ user: 'admin@example.com' }, w.ctx, {
      progress: { phase: (name) => void phases.push(name), bytes: () => {} },
    });
    expect(phases.slice(phases.indexOf('restoring'))).toEqual([
      'restoring',
      'preparing the swap',
      'swapping',
      'migrating',
      'carrying over signatures and revocations',
    ]);
  });

  it('restores the newest backup of this database into a scratch database, then swaps it in', async () => {
    const w = createFakeWorld();
    w.files.set('app_20260101_000000.dump', { content: 'older' });
    w.files.set('app_20260102_000000.dump', { content: 'newest' });
    w.files.set('app_20260102_000000_2.dump', { content: 'newest-same-second' });
    w.files.set('other_20270101_000000.dump', { content: 'another database' });
    const result = await restoreBackup({ user: 'admin@example.com' }, w.ctx);
    expect(result.path).toBe(`${DIR}/app_20260102_000000_2.dump`);
    expect(result.dryRun).toBe(false);
    expect([...w.databases]).toEqual([['app', 'newest-same-second']]);
    expect(w.events).toEqual([
      'maintenance read-only',
      'writes settled',
      `restore app_20260102_000000_2.dump -> ${SCRATCH}`,
      'maintenance unavailable',
      'drain',
      `rename app -> ${ASIDE}`,
      `rename ${SCRATCH} -> app`,
      'reopen',
      'migrate',
      `carry-over from ${ASIDE}`,
      'maintenance read-only', // reads again while the database is made writable
      'maintenance normal',
      `drop ${ASIDE}`,
    ]);
    expect(w.audits).toMatchObject([
      {
        action: 'restore',
        outcome: 'started',
        user: 'admin@example.com',
        message: expect.stringContaining(ASIDE),
      },
      {
        action: 'restore',
        outcome: 'succeeded',
        user: 'admin@example.com',
        file: 'app_20260102_000000_2.dump',
      },
    ]);
    expect(w.logs.join('\n')).toContain("requested by 'admin@example.com'");
    expect(w.metrics).toEqual({ succeeded: 1, failed: 0 });
  });

  it('keeps the old database under its aside name when keepOldDatabase is set', async () => {
    const w = createFakeWorld();
    w.settings.keepOldDatabase = true;
    w.files.set('app_20260101_000000.dump', { content: 'new' });
    await restoreBackup({ user: 'a' }, w.ctx);
    expect(Object.fromEntries(w.databases)).toEqual({ app: 'new', [ASIDE]: 'old' });
  });

  it('restores a named file instead of the latest', async () => {
    const w = createFakeWorld();
    w.files.set('app_20260101_000000.dump', { content: 'older' });
    w.files.set('app_20260102_000000.dump', { content: 'newest' });
    const result = await restoreBackup({ user: 'a', file: 'app_20260101_000000.dump' }, w.ctx);
    expect(result.path).toBe(`${DIR}/app_20260101_000000.dump`);
    expect(w.databases.get('app')).toBe('older');
  });

  it('dry run verifies and names the file, changes nothing, and is audited', async () => {
    const w = createFakeWorld();
    w.files.set('app_20260102_000000.dump', { content: 'newest' });
    const result = await restoreBackup({ user: 'a', dryRun: true }, w.ctx);
    expect(result).toMatchObject({
      path: `${DIR}/app_20260102_000000.dump`,
      dryRun: true,
      metadata: { file: 'app_20260102_000000.dump' },
    });
    expect(w.events).toEqual([]);
    expect(Object.fromEntries(w.databases)).toEqual({ app: 'old' });
    expect(w.audits).toMatchObject([{ action: 'restore-dry-run', outcome: 'succeeded' }]);
  });

  it('refuses the newest file when it fails verification, naming it and why, without falling back', async () => {
    const w = createFakeWorld();
    w.files.set('app_20260101_000000.dump', { content: 'good older' });
    w.files.set('app_20260102_000000.dump', {
      content: 'x',
      verification: { ok: false, reason: 'the checksum does not match.' },
    });
    const error = await restoreBackup({ user: 'a' }, w.ctx).catch((e: unknown) => e);
    expect(isAppError(error) && error.code).toBe('BACKUP.VERIFICATION_FAILED');
    expect((error as Error).message).toContain(`${DIR}/app_20260102_000000.dump`);
    expect((error as Error).message).toContain('checksum does not match');
    expect(w.events).toEqual([]);
    expect(Object.fromEntries(w.databases)).toEqual({ app: 'old' });
    expect(w.audits).toMatchObject([{ outcome: 'refused', file: 'app_20260102_000000.dump' }]);
  });

  it('refuses a backup with a schema version newer than this server knows', async () => {
    const w = createFakeWorld({ knownSchemaVersion: 2 });
    w.files.set('app_20260102_000000.dump', {
      content: 'x',
      verification: { ok: true, metadata: metadataFor('app_20260102_000000.dump', { schemaVersion: 3 }) },
    });
    expect(await codeOf(restoreBackup({ user: 'a' }, w.ctx))).toBe('BACKUP.SCHEMA_TOO_NEW');
    expect(w.events).toEqual([]);
  });

  it('answers BACKUP.NONE_FOUND when there is no backup of this database', async () => {
    const w = createFakeWorld();
    w.files.set('other_20260102_000000.dump', { content: 'x' });
    expect(await codeOf(restoreBackup({ user: 'a' }, w.ctx))).toBe('BACKUP.NONE_FOUND');
  });

  it('refuses file names with paths or not following the naming pattern, before touching anything', async () => {
    const w = createFakeWorld();
    w.files.set('app_20260102_000000.dump', { content: 'x' });
    for (const file of [
      '../app_20260102_000000.dump',
      '/etc/passwd',
      'sub/app_20260102_000000.dump',
      'app..dump',
      'notes.txt',
      '..',
    ]) {
      expect(await codeOf(restoreBackup({ user: 'a', file }, w.ctx))).toBe('BACKUP.BAD_FILE_NAME');
    }
    expect(await codeOf(restoreBackup({ user: 'a', file: 'app_20250102_000000.dump' }, w.ctx))).toBe(
      'BACKUP.FILE_NOT_FOUND',
    );
    expect(w.events).toEqual([]);
  });

  it('answers BACKUP.BUSY while a backup or restore holds the lock', async () => {
    const w = createFakeWorld();
    w.files.set('app_20260102_000000.dump', { content: 'x' });
    w.lockHeld.value = true;
    expect(await codeOf(restoreBackup({ user: 'a' }, w.ctx))).toBe('BACKUP.BUSY');
    expect(w.events).toEqual([]);
  });

  it('needs the database_backup task', async () => {
    const w = createFakeWorld();
    w.ctx.task = { snapshot: () => undefined };
    expect(await codeOf(restoreBackup({ user: 'a' }, w.ctx))).toBe('BACKUP.TASK_NOT_CONFIGURED');
  });

  it('refuses when the role may not create databases', async () => {
    const w = createFakeWorld();
    w.files.set('app_20260102_000000.dump', { content: 'x' });
    w.ctx.admin.swapObstacles = async () => ({
      missingPrivileges: ['no CREATEDB'],
      blockingSessions: null,
    });
    expect(await codeOf(restoreBackup({ user: 'a' }, w.ctx))).toBe('BACKUP.MISSING_PRIVILEGE');
    expect(w.events).toEqual([]);
  });

  it('stops before the swap when the lock was lost during the scratch restore, and drops the scratch copy', async () => {
    const w = createFakeWorld();
    w.files.set('app_20260102_000000.dump', { content: 'new' });
    const restore = restoreBackup({ user: 'a' }, w.ctx, {
      reached: async (phase) => {
        if (phase === 'scratch') w.lockStillHeld.value = false;
      },
    });
    expect(await codeOf(restore)).toBe('BACKUP.LOCK_LOST');
    expect(Object.fromEntries(w.databases)).toEqual({ app: 'old' });
    expect(w.events).not.toContain('drain');
    expect(w.audits.map((a) => a.outcome)).toEqual(['failed']);
  });

  it('a failed scratch restore leaves the database untouched and the server back to normal', async () => {
    const w = createFakeWorld();
    w.files.set('app_20260102_000000.dump', { content: 'x' });
    w.fail.restore = new Error('psql exited with code 3');
    expect(await codeOf(restoreBackup({ user: 'a' }, w.ctx))).toBe('BACKUP.RESTORE_FAILED');
    expect(Object.fromEntries(w.databases)).toEqual({ app: 'old' });
    expect(w.phases).toEqual(['read-only', 'normal']);
    expect(w.events).not.toContain('drain');
    expect(w.audits).toMatchObject([{ outcome: 'failed' }]);
    expect(w.metrics.failed).toBe(1);
  });

  it('a file that the full read of the restore finds bad is refused by name as a verification failure', async () => {
    const w = createFakeWorld();
    w.files.set('app_20260102_000000.dump', { content: 'x' });
    w.fail.restore = new AppError(
      'BACKUP.UNTRUSTED',
      'conflict',
      'The backup app_20260102_000000.dump is refused: checksum mismatch.',
    );
    const error = await restoreBackup({ user: 'a' }, w.ctx).catch((e: unknown) => e);
    expect(isAppError(error) && error.code).toBe('BACKUP.VERIFICATION_FAILED');
    expect(isAppError(error) && error.message).toMatch(/app_20260102_000000\.dump.*checksum mismatch/);
    expect(Object.fromEntries(w.databases)).toEqual({ app: 'old' });
    expect(w.phases).toEqual(['read-only', 'normal']);
    expect(w.audits).toMatchObject([{ outcome: 'refused' }]);
    expect(w.metrics.failed).toBe(0);
  });

  for (const [step, expectedEvents] of [
    ['renameAside', ['drain', `rename app -> ${ASIDE}`, 'reopen', `drop ${SCRATCH}`]],
    [
      'renameIn',
      [
        'drain',
        `rename app -> ${ASIDE}`,
        `rename ${SCRATCH} -> app`,
        `rename ${ASIDE} -> app`,
        'reopen',
        `drop ${SCRATCH}`,
      ],
    ],
    [
      'migrate',
      [
        'drain',
        `rename app -> ${ASIDE}`,
        `rename ${SCRATCH} -> app`,
        'reopen',
        'migrate',
        'drain',
        `rename app -> ${SCRATCH}`,
        `rename ${ASIDE} -> app`,
        'reopen',
        `drop ${SCRATCH}`,
      ],
    ],
  ] as const) {
    it(`a failure at ${step} puts the old database back and reopens the pool`, async () => {
      const w = createFakeWorld();
      w.files.set('app_20260102_000000.dump', { content: 'new' });
      w.fail[step] = new Error(`${step} broke`);
      expect(await codeOf(restoreBackup({ user: 'a' }, w.ctx))).toBe('BACKUP.SWAP_FAILED');
      expect(Object.fromEntries(w.databases)).toEqual({ app: 'old' });
      const swap = w.events.slice(
        w.events.indexOf('maintenance unavailable') + 1,
        w.events.lastIndexOf('maintenance read-only'),
      );
      expect(swap).toEqual(expectedEvents);
      expect(w.ctx.maintenance.get().phase).toBe('normal');
    });
  }

  it('when putting back fails too, it says where the old database is and still ends in normal mode', async () => {
    const w = createFakeWorld();
    w.files.set('app_20260102_000000.dump', { content: 'new' });
    w.fail.migrate = new Error('migration broke');
    w.fail.renameBack = new Error('rename refused');
    const error = await restoreBackup({ user: 'a' }, w.ctx).catch((e: unknown) => e);
    expect(isAppError(error) && error.code).toBe('BACKUP.ROLLBACK_FAILED');
    expect(isAppError(error) && error.suggestion).toContain(ASIDE);
    expect(w.databases.get(ASIDE)).toBe('old');
    expect(w.events.slice(-3)).toEqual(['reopen', 'maintenance read-only', 'maintenance normal']);
    expect(w.ctx.maintenance.get().phase).toBe('normal');
  });

  it('stops at each test hook phase in order', async () => {
    const w = createFakeWorld();
    w.files.set('app_20260102_000000.dump', { content: 'new' });
    const seen: string[] = [];
    await restoreBackup({ user: 'a' }, w.ctx, {
      reached: async (phase) => {
        seen.push(`${phase}:${[...w.databases.keys()].sort().join(',')}`);
      },
    });
    expect(seen).toEqual(['scratch:app', `swap:${ASIDE},${SCRATCH}`, `swapped:app,${ASIDE}`]);
  });
});

describe('restoreBackup holds the database read-only for every replica (PostgreSQL enforces it)', () => {
  const readOnlyAt = (w: ReturnType<typeof createFakeWorld>) => [...w.readOnly].sort().join(',');

  it('from before the scratch restore to the end of the swap, the restored copy arriving read-only; then none', async () => {
    const w = createFakeWorld();
    w.files.set('app_20260102_000000.dump', { content: 'new' });
    const seen: string[] = [];
    await restoreBackup({ user: 'a' }, w.ctx, {
      reached: async (phase) => void seen.push(`${phase}:${readOnlyAt(w)}`),
    });
    expect(seen).toEqual(['scratch:app', `swap:${ASIDE},${SCRATCH}`, `swapped:app,${ASIDE}`]);
    expect(readOnlyAt(w)).toBe('');
    expect(w.logs.join('\n')).toMatch(
      /Writes to 'app' are refused on every replica[\s\S]*Writes to 'app' are accepted again/,
    );
  });

  it('a kept old database is not left read-only', async () => {
    const w = createFakeWorld();
    w.settings.keepOldDatabase = true;
    w.files.set('app_20260102_000000.dump', { content: 'new' });
    await restoreBackup({ user: 'a' }, w.ctx);
    expect(Object.fromEntries(w.databases)).toEqual({ app: 'new', [ASIDE]: 'old' });
    expect(readOnlyAt(w)).toBe('');
  });

  for (const step of ['restore', 'renameIn', 'migrate'] as const) {
    it(`a failure at ${step} leaves the old database writable again`, async () => {
      const w = createFakeWorld();
      w.files.set('app_20260102_000000.dump', { content: 'new' });
      w.fail[step] = new Error(`${step} broke`);
      await restoreBackup({ user: 'a' }, w.ctx).catch(() => {});
      expect(Object.fromEntries(w.databases)).toEqual({ app: 'old' });
      expect(readOnlyAt(w)).toBe('');
    });
  }

  it('a dry run never makes the database read-only', async () => {
    const w = createFakeWorld();
    w.files.set('app_20260102_000000.dump', { content: 'new' });
    const refused: string[] = [];
    const refuse = w.ctx.admin.refuseWrites.bind(w.ctx.admin);
    w.ctx.admin.refuseWrites = async (name) => {
      refused.push(name);
      await refuse(name);
    };
    await restoreBackup({ user: 'a', dryRun: true }, w.ctx);
    expect(refused).toEqual([]);
  });

  it('a restore that lost its lock leaves the setting to the lock holder, and resets it once the lock is free', async () => {
    const held = createFakeWorld();
    held.files.set('app_20260102_000000.dump', { content: 'new' });
    const restore = restoreBackup({ user: 'a' }, held.ctx, {
      reached: async (phase) => {
        if (phase !== 'scratch') return;
        held.lockStillHeld.value = false;
        held.lockHeld.value = true; // another replica took the lock and may be restoring now
      },
    });
    // The lock is still held by "another replica" when the restore ends: tryWithLock is refused until it is free.
    const original = held.ctx.admin.tryWithLock.bind(held.ctx.admin);
    let calls = 0;
    let otherHolds = true;
    held.ctx.admin.tryWithLock = (name, fn) =>
      calls++ === 0 || !otherHolds ? original(name, fn) : Promise.resolve({ acquired: false });
    vi.useFakeTimers({ toFake: ['setTimeout'] });
    try {
      expect(await codeOf(restore)).toBe('BACKUP.LOCK_LOST');
      expect(readOnlyAt(held)).toBe('app');
      expect(held.logs.join('\n')).toMatch(/stays read-only while another backup or restore holds the lock/);
      await vi.advanceTimersByTimeAsync(30_000);
      expect(readOnlyAt(held)).toBe('app'); // still held by the other one
      otherHolds = false;
      held.lockHeld.value = false;
      await vi.advanceTimersByTimeAsync(10_000);
      expect(readOnlyAt(held)).toBe('');
      expect(held.logs.at(-1)).toMatch(/Writes to 'app' are accepted again/);
    } finally {
      vi.useRealTimers();
    }

    const free = createFakeWorld();
    free.files.set('app_20260102_000000.dump', { content: 'new' });
    const lost = restoreBackup({ user: 'a' }, free.ctx, {
      reached: async (phase) => {
        if (phase !== 'scratch') return;
        free.lockStillHeld.value = false; // its session died, which released the lock
        free.lockHeld.value = false;
      },
    });
    expect(await codeOf(lost)).toBe('BACKUP.LOCK_LOST');
    expect(readOnlyAt(free)).toBe('');
  });
});

describe('restore database names', () => {
  it('stamps in UTC as YYYYMMDDHHMMSS', () => {
    expect(restoreStamp(new Date('2026-12-31T23:59:58.999Z'))).toBe('20261231235958');
    expect(restoreDatabaseNames('db', new Date('2026-01-02T03:04:05Z'))).toEqual({
      scratch: 'db_restore_20260102030405',
      aside: 'db_pre_restore_20260102030405',
    });
  });

  it('refuses database names that PostgreSQL would truncate', () => {
    expect(() => restoreDatabaseNames('x'.repeat(36), new Date())).not.toThrow();
    expect(() => restoreDatabaseNames('x'.repeat(37), new Date())).toThrow(/too long/);
  });
});

describe('restoreBackup and writes in flight', () => {
  it('does not start while writes that passed the gate are still running, and changes nothing', async () => {
    const w = createFakeWorld();
    w.files.set('app_20260102_000000.dump', { content: 'newest' });
    w.ctx.maintenance.writesSettled = async () => false;
    await expect(restoreBackup({ user: 'a' }, w.ctx)).rejects.toMatchObject({
      code: 'BACKUP.WRITES_RUNNING',
    });
    expect(w.events.filter((e) => e.startsWith('restore') || e.startsWith('rename'))).toEqual([]);
    expect(w.events.at(-1)).toBe('maintenance normal');
    expect(w.databases.get('app')).toBe('old');
  });
});

describe('restoreBackup and the "restore started" notification', () => {
  it('is in the outbox before writes are refused: its insert does not race the swap', async () => {
    const w = createFakeWorld();
    w.files.set('app_20260102_000000.dump', { content: 'newest' });
    // A slow outbox: the insert of the message takes a while (a loaded database).
    const store = {
      enqueue: async (rows: { message: { event: string } }[]) => {
        await new Promise((resolve) => setTimeout(resolve, 50));
        for (const r of rows) w.events.push(`queued ${r.message.event}`);
      },
    } as unknown as NotifyStore;
    const channel = { id: 'c1', minSeverity: 'info', events: null } as unknown as NotifyChannel;
    w.ctx.notifier = createNotifier({
      store,
      channels: () => [channel],
      server: () => null,
      clock: w.ctx.clock,
      logger: w.ctx.logger,
      wake: () => {},
      heartbeatUrl: () => null,
      ping: async () => {},
    });
    await restoreBackup({ user: 'admin@example.com' }, w.ctx);
    const started = w.events.indexOf('queued restore_started');
    expect(started).toBeGreaterThanOrEqual(0);
    expect(started).toBeLessThan(w.events.indexOf('maintenance read-only'));
  });
});
