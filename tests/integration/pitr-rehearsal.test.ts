// The PITR rehearsal against real PostgreSQL, pg_receivewal and pg_basebackup: while a writer keeps committing, the
// live database's rows are counted at one exact WAL position, a restore to that point is recovered into a scratch
// database and its counts compared. It passes and signs its record; a forged record is not trusted; an UNLOGGED table
// (whose rows WAL does not carry, so recovery empties it) makes the counts differ for real, and a sealed segment with
// other bytes stops it before recovery: each fails, is recorded, told and counted; a transaction held open keeps it
// from running at all, and that is told too. The scratch database is gone either way and the live database is as it
// was.
import { existsSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTask } from '../../handlers/backup/deps';
import { NO_NOTIFIER, type NotifyEvent } from '../../handlers/ports/notifier';
import { rehearsePoint } from '../../handlers/pitr/rehearse-point';
import { planRecovery } from '../../handlers/pitr/window';
import { describePitrRehearsal } from '../../handlers/pitr/rehearsal-summary';
import { runScheduledPitrRehearsal } from '../../handlers/pitr/rehearsal-schedule';
import { listBackupsWithLocations } from '../../handlers/offsite/list';
import { readBackupStatus } from '../../handlers/backup/status';
import type { StatusSources } from '../../handlers/ports/status-sources';
import { bindContinuous, startPitrWorld, type PitrWorld } from '../support/pitr-world';
import {
  createRealContext,
  migrateToLatest,
  TEST_SIGNER,
  type RealRestoreWorld,
} from '../support/restore-real';

const NO_SOURCES: StatusSources = {
  lastRun: async () => null,
  openProblems: async () => [],
  offsite: async () => null,
};
let world: PitrWorld;
let real: RealRestoreWorld;
const problems: { key: string; event: NotifyEvent }[] = [];
const counted = { passed: 0, failed: 0 };
let writing = true;
let writer: Promise<void> | undefined;
let writerError: unknown;

async function liveState(): Promise<{ oid: string; writes: number[]; databases: string[] }> {
  const client = new pg.Client({ connectionString: world.appUrl });
  await client.connect();
  try {
    const oid = await client.query<{ oid: string }>(
      "SELECT oid::text FROM pg_database WHERE datname = 'app'",
    );
    const writes = await client.query<{ n: number }>('SELECT n FROM writes ORDER BY n');
    const dbs = await client.query<{ datname: string }>('SELECT datname FROM pg_database ORDER BY 1');
    return {
      oid: oid.rows[0]!.oid,
      writes: writes.rows.map((r) => r.n),
      databases: dbs.rows.map((r) => r.datname),
    };
  } finally {
    await client.end();
  }
}

beforeAll(async () => {
  world = await startPitrWorld({ signer: TEST_SIGNER });
  real = createRealContext({ url: world.appUrl, directory: world.directory });
  bindContinuous(real, world, { rehearse: true });
  real.ctx.notifier = { ...NO_NOTIFIER, problem: (key, event) => problems.push({ key, event }) };
  real.ctx.metrics = {
    ...real.ctx.metrics,
    pitrRehearsalSucceeded: () => void counted.passed++,
    pitrRehearsalFailed: () => void counted.failed++,
  };
  await migrateToLatest(real);
  await world.query('CREATE TABLE writes (n int PRIMARY KEY)');
  await world.catalog();
  await world.coveredUntil(new Date().toISOString(), 120_000);
  // A steady writer: a commit every ~20 ms for as long as the tests run.
  writer = (async () => {
    for (let n = 1; writing; n++) {
      await world.query('INSERT INTO writes (n) VALUES ($1)', [n]);
      await new Promise((r) => setTimeout(r, 20));
    }
  })().catch((error: unknown) => {
    writerError = error; // asserted where the writer must be alive: an INSERT error used to end it silently
  });
}, 180_000);

afterAll(async () => {
  writing = false;
  await writer?.catch(() => {});
  await real?.close();
  await world?.close();
});

describe('PITR rehearsal', () => {
  it('recovers to a point taken under a steady writer, finds the source counts there, and signs its record', async () => {
    const before = await liveState();
    const started = Date.now();
    const record = await rehearsePoint(real.ctx);
    console.log(
      `PITR rehearsal passed in ${((Date.now() - started) / 1000).toFixed(1)} s (recovery and check ${(record.durationMs / 1000).toFixed(1)} s, ${record.segments} segments)`,
    );
    expect(record.ok).toBe(true);
    expect(record.error).toBeNull();
    const sourceWrites = record.mark.tableRows['public.writes']!;
    expect(sourceWrites).toBeGreaterThan(before.writes.length - 1);
    expect(record.recoveredRows['public.writes']).toBe(sourceWrites);
    expect(record.recoveredRows).toEqual(record.mark.tableRows);
    // The writer went on: the live database holds more rows than the point, the recovered copy exactly the point's.
    const after = await liveState();
    expect(writerError).toBeUndefined();
    expect(after.writes.length).toBeGreaterThan(sourceWrites);
    expect(after.writes.slice(0, before.writes.length)).toEqual(before.writes);
    expect(after.oid).toBe(before.oid);
    expect(after.databases.filter((d) => d.includes('_rehearsal_'))).toEqual([]);
    const stored = await openTask(real.ctx).store.pitrRehearsal!.read();
    expect(stored).toEqual({ ok: true, record });
    expect(counted.passed).toBe(1);
    // list and the status show it; the schedule (once per period) has nothing to do now.
    const listing = await listBackupsWithLocations(real.ctx, { offsiteOnly: false });
    expect(listing.pitrRehearsal).toMatchObject({ trusted: true, passed: true, point: record.mark.at });
    expect(describePitrRehearsal(listing.pitrRehearsal!).line).toMatch(
      /^Last PITR rehearsal: passed at .+ UTC \(a restore to .+ UTC, \d+ tables, \d+ rows as the source had them\)\.$/,
    );
    const status = await readBackupStatus({ ...real.ctx, sources: NO_SOURCES, server: null });
    expect(status.lastPitrRehearsal).toMatchObject({ passed: true, rehearsedAt: record.rehearsedAt });
    expect(await runScheduledPitrRehearsal(real.ctx, 0)).toBe('not due');
  }, 300_000);

  it('does not trust a forged record', async () => {
    const path = join(world.directory, 'pitr', 'rehearsal.json');
    const text = await readFile(path, 'utf8');
    try {
      const forged = JSON.parse(text) as { manifest: { ok: boolean; durationMs: number } };
      forged.manifest.durationMs += 1;
      await writeFile(path, JSON.stringify(forged));
      const stored = await openTask(real.ctx).store.pitrRehearsal!.read();
      expect(stored).toEqual({ ok: false, reason: expect.stringMatching(/forged or altered/) });
      const listing = await listBackupsWithLocations(real.ctx, { offsiteOnly: false });
      expect(describePitrRehearsal(listing.pitrRehearsal!)).toEqual({
        warn: true,
        line: expect.stringMatching(
          /^Last PITR rehearsal: its record is not trusted \(.*forged or altered.*\), so it counts as not rehearsed\.$/,
        ),
      });
    } finally {
      await writeFile(path, text);
    }
  });

  it('a database with a transaction always open: the scheduled rehearsal cannot run, and the admin is told', async () => {
    const path = join(world.directory, 'pitr', 'rehearsal.json');
    const text = await readFile(path, 'utf8');
    const holder = new pg.Client({ connectionString: world.appUrl });
    await holder.connect();
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT txid_current()'); // an xid held open: no snapshot is ever quiet
      // ... once a later transaction has completed: while the open one holds the newest xid, a snapshot's xmax
      // (the newest completed xid + 1) is that xid itself, which then does not show in xip (PostgreSQL 14+).
      await world.query('SELECT txid_current()');
      await rm(path); // no record: a rehearsal is due at once
      const before = problems.length;
      const logged = real.logs.length;
      expect(await runScheduledPitrRehearsal(real.ctx, 0)).toBe('ran');
      // On a failure, what the rehearsal logged says why it was not told.
      expect(problems.slice(before), real.logs.slice(logged).join('\n')).toEqual([
        {
          key: `pitr_rehearsal_failed:${real.ctx.admin.databaseName}`,
          event: expect.objectContaining({
            kind: 'rehearsal_failed',
            severity: 'warning',
            reason: expect.stringMatching(
              /^No restore to a point has been proven for two periods: .*no quiet moment/,
            ),
          }),
        },
      ]);
      expect(existsSync(path)).toBe(false); // it did not run, so nothing was recorded
    } finally {
      await holder.query('ROLLBACK').catch(() => {});
      await holder.end();
      await writeFile(path, text);
    }
  }, 120_000);

  it('fails when the recovered counts differ (an UNLOGGED table), records and tells it, and drops the scratch', async () => {
    await world.query('CREATE UNLOGGED TABLE cache (k int)');
    await world.query('INSERT INTO cache SELECT generate_series(1, 3)');
    const before = await liveState();
    const told = problems.length;
    await expect(rehearsePoint(real.ctx)).rejects.toMatchObject({
      code: 'PITR.REHEARSAL_FAILED',
      message: expect.stringMatching(
        /failed: row counts differ from the source at that point: public\.cache has 0 rows in the recovered copy, the source had 3\.$/,
      ),
    });
    const stored = await openTask(real.ctx).store.pitrRehearsal!.read();
    expect(stored).toMatchObject({ ok: true, record: { ok: false, recoveredRows: { 'public.cache': 0 } } });
    expect(problems.slice(told)).toEqual([
      {
        key: 'pitr_rehearsal_failed:app',
        event: expect.objectContaining({
          kind: 'rehearsal_failed',
          severity: 'critical',
          reason: expect.stringContaining('public.cache has 0 rows in the recovered copy'),
        }),
      },
    ]);
    expect(counted.failed).toBe(1);
    const status = await readBackupStatus({ ...real.ctx, sources: NO_SOURCES, server: null });
    expect(status.lastPitrRehearsal).toMatchObject({
      passed: false,
      error: expect.stringContaining('public.cache has 0 rows'),
    });
    const after = await liveState();
    expect(after.oid).toBe(before.oid);
    expect(after.databases.filter((d) => d.includes('_rehearsal_'))).toEqual([]);
    const cache = await world.query('SELECT count(*)::int AS n FROM cache');
    expect(cache.rows[0]).toEqual({ n: 3 });
    await world.query('DROP TABLE cache');
  }, 300_000);

  it('fails when a sealed segment it needs was changed (same size, other bytes), before any recovery', async () => {
    const catalog = await world.catalog();
    const plan = planRecovery(catalog, catalog.window!.latest);
    if ('refused' in plan) throw new Error(plan.refused);
    const victim = plan.segments[0]!; // the first segment after the base: every later point needs it
    const path = join(world.directory, 'pitr', victim.file);
    const bytes = await readFile(path);
    const forged = Buffer.from(bytes);
    forged[forged.length - 1] = forged[forged.length - 1]! ^ 0xff;
    await writeFile(path, forged);
    const before = await liveState();
    try {
      await expect(rehearsePoint(real.ctx)).rejects.toMatchObject({
        code: 'PITR.REHEARSAL_FAILED',
        message: expect.stringContaining(
          `The file pitr/${victim.file} does not match its signed manifest: its SHA-256 differs (forged or altered).`,
        ),
      });
    } finally {
      await writeFile(path, bytes);
    }
    const stored = await openTask(real.ctx).store.pitrRehearsal!.read();
    expect(stored).toMatchObject({ ok: true, record: { ok: false, recoveredRows: {} } });
    expect(problems.at(-1)).toMatchObject({
      key: 'pitr_rehearsal_failed:app',
      event: { kind: 'rehearsal_failed', reason: expect.stringContaining(victim.file) },
    });
    expect(counted.failed).toBe(2);
    const after = await liveState();
    expect(after.oid).toBe(before.oid);
    expect(after.databases.filter((d) => d.includes('_rehearsal_'))).toEqual([]);
  }, 300_000);
});
