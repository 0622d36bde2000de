// Restore to a point against real PostgreSQL: a writer records every commit's send and acknowledgement time; a restore
// to T, recovered in a temporary instance from the base backup and the sealed WAL, then swapped in through the
// complete restore's path, holds every commit acknowledged at or before T and none sent after it. A target outside
// the window and a forged segment are refused with one line, and the database is left as it was.
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { restoreToPoint } from '../../handlers/pitr/restore-to-point';
import {
  commitWrites,
  startPitrRestoreWorld,
  writtenRows,
  type PitrWorld,
  type TimedCommit,
} from '../support/pitr-world';
import type { RealRestoreWorld } from '../support/restore-real';

let world: PitrWorld;
let real: RealRestoreWorld;
const commits: TimedCommit[] = [];

/** A statement on a session of its own: a restore's swap ends the world's. */
async function fresh(sql: string): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: world.appUrl });
  await client.connect();
  try {
    return await client.query(sql);
  } finally {
    await client.end();
  }
}

const rowsNow = () => writtenRows(world);

beforeAll(async () => {
  ({ world, real } = await startPitrRestoreWorld({
    prepare: async (started) => {
      // The database belongs to a role without superuser rights; db_url stays the cluster's superuser. A table made
      // by the superuser and one owned by yet another role: after a restore both belong to the owner.
      await started.query('CREATE ROLE app_owner LOGIN CREATEDB');
      await started.query('CREATE ROLE someone_else');
      await started.query('ALTER DATABASE app OWNER TO app_owner');
      await started.query('CREATE TABLE by_someone_else (note text)');
      await started.query('ALTER TABLE by_someone_else OWNER TO someone_else');
    },
  }));
  // The writer: one commit every ~30 ms, each with the instant it was sent and the instant it was acknowledged.
  commits.push(...(await commitWrites(world, 60)));
  await world.coveredUntil(new Date(commits.at(-1)!.ackAt + 1).toISOString());
});

afterAll(async () => {
  await real?.close();
  await world?.close();
});

describe('restore to a point', () => {
  it('refuses a target outside the window, naming the window, and changes nothing', async () => {
    const before = await rowsNow();
    const target = new Date(Date.now() + 3_600_000).toISOString();
    await expect(restoreToPoint({ user: 'admin@example.com', to: target }, real.ctx)).rejects.toMatchObject({
      code: 'PITR.OUTSIDE_WINDOW',
      message: expect.stringMatching(
        new RegExp(`^The target ${target} is outside the restorable window .+ to .+\\.$`),
      ),
    });
    expect(await rowsNow()).toEqual(before);
  });

  it('a dry run names the base backup and the segments and changes nothing', async () => {
    const target = new Date(commits[30]!.ackAt + 1).toISOString();
    const result = await restoreToPoint({ user: 'admin@example.com', to: target, dryRun: true }, real.ctx);
    expect(result).toMatchObject({ target, dryRun: true, base: expect.stringMatching(/^pitr\/base\//) });
    expect(result.segments).toBeGreaterThan(0);
    expect(await rowsNow()).toHaveLength(60);
  });

  it('holds every commit acknowledged at or before the target and none sent after it', async () => {
    const k = 25;
    // Between the acknowledgement of commit k and the sending of commit k + 1.
    const at = Math.floor((commits[k - 1]!.ackAt + commits[k]!.sentAt) / 2);
    const target = new Date(at).toISOString();
    const started = Date.now();
    const result = await restoreToPoint({ user: 'admin@example.com', to: target }, real.ctx);
    console.log(
      `restored to a point in ${((Date.now() - started) / 1000).toFixed(1)} s (${result.segments} segments)`,
    );
    const present = new Set(await rowsNow());
    const acknowledged = commits.filter((c) => c.ackAt <= at).map((c) => c.n);
    const sentAfter = commits.filter((c) => c.sentAt > at).map((c) => c.n);
    expect(acknowledged.length).toBeGreaterThan(0);
    expect(sentAfter.length).toBeGreaterThan(0);
    for (const n of acknowledged)
      expect(present.has(n), `commit ${n} acknowledged before the target`).toBe(true);
    for (const n of sentAfter) expect(present.has(n), `commit ${n} sent after the target`).toBe(false);
  });

  it("loads as the database's owner: what the superuser or another role owned belongs to the owner", async () => {
    const { rows } = await fresh(
      `SELECT tablename, tableowner FROM pg_tables WHERE schemaname = 'public' AND tablename IN ('writes', 'by_someone_else') ORDER BY 1`,
    );
    expect(rows).toEqual([
      { tablename: 'by_someone_else', tableowner: 'app_owner' },
      { tablename: 'writes', tableowner: 'app_owner' },
    ]);
  });

  it('refuses a forged segment before the instance starts, and the database stays as it was', async () => {
    const catalog = await world.catalog();
    const before = await rowsNow();
    const target = catalog.window!.latest;
    const victim = catalog.segments.filter((s) => s.coversUntil !== null).at(-1)!;
    const path = join(world.directory, 'pitr', victim.file);
    const bytes = await readFile(path);
    const forged = Buffer.from(bytes);
    forged[forged.length - 1] = forged[forged.length - 1]! ^ 0xff; // same size, other bytes
    await writeFile(path, forged);
    try {
      await expect(restoreToPoint({ user: 'admin@example.com', to: target }, real.ctx)).rejects.toThrow(
        `The file pitr/${victim.file} does not match its signed manifest: its SHA-256 differs (forged or altered).`,
      );
    } finally {
      await writeFile(path, bytes);
    }
    expect(await rowsNow()).toEqual(before);
  });

  it('never runs the recovered SQL as the superuser: COPY ... TO PROGRAM in a check is refused, data kept', async () => {
    const proof = join(tmpdir(), `bomnipotent-pitr-shell-${process.pid}`);
    // Harmless in the live database; in any other (the scratch copy) it would run a shell command as the loader.
    await fresh(`CREATE FUNCTION public.looks_fine(n int) RETURNS boolean LANGUAGE plpgsql AS $f$
      BEGIN IF current_database() <> 'app' THEN EXECUTE 'COPY (SELECT 1) TO PROGRAM ''touch ${proof}'''; END IF;
      RETURN true; END $f$`);
    await fresh('CREATE TABLE checked (n int CHECK (public.looks_fine(n)))');
    await fresh('INSERT INTO checked VALUES (1)');
    const before = await rowsNow();
    const { rows } = await fresh(
      `SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS t`,
    );
    const target = (rows[0] as { t: string }).t;
    await world.coveredUntil(target);
    const failed = await restoreToPoint({ user: 'admin@example.com', to: target }, real.ctx).catch(
      (e: unknown) => e as Error,
    );
    expect(failed).toBeInstanceOf(Error);
    expect((failed as Error).message).toMatch(
      /permission denied|must be superuser|pg_execute_server_program/,
    );
    expect(existsSync(proof)).toBe(false);
    expect(await rowsNow()).toEqual(before);
  });
});
