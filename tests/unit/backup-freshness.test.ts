import { describe, expect, it } from 'vitest';
import { checkFreshness, isStale } from '../../handlers/backup/freshness';
import { formatDuration } from '../../handlers/units';
import { defaultSettings, fakeWorld } from './backup-fakes';

const DAY = 86_400_000;

describe('isStale', () => {
  const now = new Date('2026-01-11T12:00:00Z');
  it('is fresh within twice the period and stale beyond it', () => {
    expect(isStale(new Date(now.getTime() - 2 * DAY), DAY, now)).toBe(false);
    expect(isStale(new Date(now.getTime() - 2 * DAY - 1000), DAY, now)).toBe(true);
    expect(isStale(new Date(now.getTime() - 1000), DAY, now)).toBe(false);
  });
  it('is stale when there is no good backup at all', () => {
    expect(isStale(null, DAY, now)).toBe(true);
  });
});

describe('checkFreshness', () => {
  it('warns when the newest good backup is older than twice the period', async () => {
    const world = fakeWorld(defaultSettings({ periodMs: DAY }));
    world.setNow(new Date('2026-01-11T12:00:00Z'));
    world.executor.addBackup('bomnipotent_db_20260108_100000.dump');
    world.executor.addBackup('bomnipotent_db_20260107_100000.dump');
    const report = await checkFreshness(world.ctx);
    expect(report?.stale).toBe(true);
    expect(world.logger.lines).toEqual([
      '[WARN] The newest good backup is from 2026-01-08T10:00:00.000Z, older than twice the period (1 day): check the backup task.',
    ]);
  });

  it('ignores a newer backup that fails verification', async () => {
    const world = fakeWorld(defaultSettings({ periodMs: DAY }));
    world.setNow(new Date('2026-01-11T12:00:00Z'));
    world.executor.addBackup('bomnipotent_db_20260111_100000.dump', { broken: 'checksum mismatch' });
    world.executor.addBackup('bomnipotent_db_20260105_100000.dump');
    const report = await checkFreshness(world.ctx);
    expect(report).toEqual({ lastGoodAt: new Date('2026-01-05T10:00:00Z'), stale: true });
  });

  it('stays quiet when a recent good backup exists', async () => {
    const world = fakeWorld(defaultSettings({ periodMs: DAY }));
    world.setNow(new Date('2026-01-11T12:00:00Z'));
    world.executor.addBackup('bomnipotent_db_20260111_100000.dump');
    expect(await checkFreshness(world.ctx)).toEqual({
      lastGoodAt: new Date('2026-01-11T10:00:00Z'),
      stale: false,
    });
    expect(world.logger.lines).toEqual([]);
  });

  it('warns when there is no backup at all', async () => {
    const world = fakeWorld(defaultSettings({ periodMs: 3 * 3_600_000 }));
    await checkFreshness(world.ctx);
    expect(world.logger.lines).toEqual([
      '[WARN] There is no good backup in /backups, and the period is 3 hours: check the backup task.',
    ]);
  });

  it('does nothing without a backup task', async () => {
    const world = fakeWorld(null);
    expect(await checkFreshness(world.ctx)).toBeNull();
  });
});

describe('formatDuration', () => {
  it('reads well for periods and dump durations', () => {
    expect(formatDuration(DAY)).toBe('1 day');
    expect(formatDuration(2 * DAY + 3_600_000 + 60_000)).toBe('2 days 1 hour');
    expect(formatDuration(2400)).toBe('2.4 seconds');
    expect(formatDuration(250)).toBe('250 ms');
  });
});

describe('checkFreshness with rehearse = true', () => {
  it('counts no unrehearsed backup as good, and hands the newest one without a record to the rehearsals', async () => {
    const world = fakeWorld(defaultSettings({ periodMs: DAY, rehearse: true }));
    world.setNow(new Date('2026-01-11T12:00:00Z'));
    world.executor.addBackup('bomnipotent_db_20260111_100000.dump');
    world.executor.addBackup('bomnipotent_db_20260110_100000.dump');
    const enqueued: string[] = [];
    world.ctx.rehearsals = {
      enqueue: (file) => void enqueued.push(file),
      idle: async () => {},
      notRun: () => null,
    };
    expect(await checkFreshness(world.ctx)).toEqual({ lastGoodAt: null, stale: true });
    expect(enqueued).toEqual(['bomnipotent_db_20260111_100000.dump']);
    // The newest one is within the period and waits for its rehearsal: said, not warned about.
    expect(world.logger.lines.filter((l) => l.startsWith('[WARN]'))).toEqual([]);
    expect(world.logger.lines.join('\n')).toContain(
      "The newest backup 'bomnipotent_db_20260111_100000.dump' counts as good once its rehearsal passes",
    );
    // Past twice the period without a passed rehearsal: the warning again.
    world.setNow(new Date('2026-01-14T12:00:00Z'));
    await checkFreshness(world.ctx);
    expect(world.logger.lines.filter((l) => l.startsWith('[WARN]'))).toHaveLength(1);
  });
});
