// The status at a glance (handlers/backup/status.ts) with the shared fakes, and its page (runtime/routes/status-page.ts).
import { describe, expect, it } from 'vitest';
import { readBackupStatus, type StatusDeps } from '../../handlers/backup/status';
import type { OffsiteRecord, OpenProblem, TaskRunRecord } from '../../handlers/ports/status-sources';
import type { OffsiteHooks } from '../../handlers/offsite/context';
import { renderStatusPage } from '../../runtime/routes/status-page';
import { defaultSettings, fakeWorld } from './backup-fakes';

const NOW = new Date('2026-01-11T10:30:24Z');
const DAY = 24 * 3600_000;

function statusOf(
  world: ReturnType<typeof fakeWorld>,
  sources: { lastRun?: TaskRunRecord | null; open?: OpenProblem[]; offsite?: OffsiteRecord | null } = {},
): Promise<Awaited<ReturnType<typeof readBackupStatus>>> {
  const deps: StatusDeps = {
    ...world.ctx,
    server: 'bom.example.com',
    sources: {
      lastRun: async () => sources.lastRun ?? null,
      openProblems: async () => sources.open ?? [],
      offsite: async (location) => (location === 's3://bucket/p/' ? (sources.offsite ?? null) : null),
    },
  };
  return readBackupStatus(deps);
}

describe('readBackupStatus', () => {
  it('names the last good backup and the next run a period after the last start', async () => {
    const world = fakeWorld(defaultSettings({ periodMs: DAY, scheduled: true }));
    world.executor.addBackup('bomnipotent_db_20260111_000000.dump');
    const startedAt = new Date(NOW.getTime() - 3600_000);
    const status = await statusOf(world, {
      lastRun: { startedAt, finishedAt: startedAt, outcome: 'succeeded' },
    });
    expect(status).toMatchObject({
      overall: 'ok',
      server: 'bom.example.com',
      lastGoodBackup: { file: 'bomnipotent_db_20260111_000000.dump', stale: false },
      nextRun: { at: new Date(startedAt.getTime() + DAY).toISOString(), due: false, running: false },
      problems: [],
      offsite: null,
    });
  });

  it('runs again 15 minutes after a failed run, not a period later; due now when that is past', async () => {
    const world = fakeWorld(defaultSettings({ periodMs: DAY, scheduled: true }));
    const failed = (ago: number): TaskRunRecord => ({
      startedAt: new Date(NOW.getTime() - ago),
      finishedAt: null,
      outcome: 'failed',
    });
    expect((await statusOf(world, { lastRun: failed(60_000) })).nextRun?.at).toBe(
      new Date(NOW.getTime() - 60_000 + 15 * 60_000).toISOString(),
    );
    expect((await statusOf(world, { lastRun: failed(20 * 60_000) })).nextRun).toEqual({
      at: NOW.toISOString(),
      due: true,
      running: false,
    });
    expect((await statusOf(fakeWorld(defaultSettings({ scheduled: false })))).nextRun).toBeNull();
  });

  it('tells of staleness itself, without a channel, and once when the notifier has it open too', async () => {
    const world = fakeWorld(defaultSettings({ periodMs: DAY }));
    const alone = await statusOf(world);
    expect(alone.overall).toBe('critical');
    expect(alone.problems).toEqual([
      expect.objectContaining({ kind: 'backup_stale', reason: 'There is no good backup.' }),
    ]);
    const told: OpenProblem = {
      kind: 'backup_stale',
      severity: 'critical',
      since: new Date(NOW.getTime() - DAY),
      reason: 'There is no good backup in /backups.',
      suggestion: null,
      backup: null,
    };
    const offsite: OpenProblem = { ...told, kind: 'offsite_failed', severity: 'warning', reason: 'refused' };
    const both = await statusOf(world, { open: [offsite, told] });
    expect(both.problems.map((p) => [p.kind, p.reason])).toEqual([
      ['backup_stale', 'There is no good backup in /backups.'],
      ['offsite_failed', 'refused'],
    ]);
  });

  it("shows the off-site state the copy runs recorded in the database, not this process's", async () => {
    const world = fakeWorld(defaultSettings({ periodMs: DAY }));
    world.ctx.offsite = { location: () => 's3://bucket/p/' } as unknown as OffsiteHooks;
    expect((await statusOf(world)).offsite).toEqual({
      location: 's3://bucket/p/',
      newestConfirmedAt: null,
      read: false,
      lastCopy: null,
    });
    const at = new Date(NOW.getTime() - 60_000);
    const failed = await statusOf(world, {
      offsite: { newestConfirmedAt: undefined, lastCopy: { at, failure: 'connection refused' } },
    });
    expect(failed.offsite).toMatchObject({
      read: false,
      lastCopy: { ok: false, failure: 'connection refused' },
    });
    const read = await statusOf(world, {
      offsite: { newestConfirmedAt: at, lastCopy: { at, failure: null } },
    });
    expect(read.offsite).toEqual({
      location: 's3://bucket/p/',
      newestConfirmedAt: at.toISOString(),
      read: true,
      lastCopy: { at: at.toISOString(), ok: true, failure: null },
    });
  });

  it('answers without a task too: no task, and the open problems', async () => {
    const status = await statusOf(fakeWorld(null));
    expect(status).toMatchObject({ overall: 'no task', task: null, nextRun: null, problems: [] });
  });
});

describe('renderStatusPage', () => {
  it('escapes every value: a reason cannot add markup or a script', async () => {
    const world = fakeWorld(defaultSettings({ periodMs: DAY }));
    const evil: OpenProblem = {
      kind: 'backup_failed',
      severity: 'critical',
      since: NOW,
      reason: '<script>alert(1)</script><form action="/x">',
      suggestion: '"><img src=x>',
      backup: null,
    };
    const page = renderStatusPage(await statusOf(world, { open: [evil] }));
    expect(page).not.toMatch(/<script|<form|<img/);
    expect(page).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(page).toContain('id="overall">Critical: 2 open problems<');
  });

  it('shows the last PITR rehearsal when there is one, its reason escaped', async () => {
    const world = fakeWorld(defaultSettings({ periodMs: DAY }));
    const status = await statusOf(world);
    expect(renderStatusPage(status)).not.toContain('Last PITR rehearsal');
    const page = renderStatusPage({
      ...status,
      lastPitrRehearsal: {
        trusted: true,
        rehearsedAt: status.at,
        point: status.at,
        passed: false,
        tables: 1,
        rows: 0,
        durationMs: 9000,
        error: 'row counts differ: <b>public.cache</b> has 0 rows',
      },
    });
    expect(page).toContain('Last PITR rehearsal');
    expect(page).toContain('failed: row counts differ: &lt;b&gt;public.cache&lt;/b&gt; has 0 rows');
    expect(page).not.toContain('<b>');
  });
});
