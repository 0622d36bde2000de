// Verified before it runs: a restore copies the backup once, hashing it, into a private spool and feeds psql from
// there, so a second writer of the file (the server's uid, or another uid that can write it) cannot get SQL run by
// changing the bytes after they were checked and putting them back. Files others could write are refused.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, chown, mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { adminQuery, createTestDatabase, type TestDatabase } from '../support/pg';
import { until } from '../support/until';
import {
  beforeCompletionMarker,
  createRealContext,
  makeBackup,
  migrateToLatest,
  rewriteBackup,
  TEST_TRUST,
  type RealRestoreWorld,
} from '../support/restore-real';

const FILLER_LINE = `-- filler ${'.'.repeat(188)}\n`; // 200 bytes

let database: TestDatabase;
let directory: string;
let world: RealRestoreWorld;
let file: string;
let marker: string;
/** Restores a test started: one it left running when it failed is stopped and awaited before the drop. */
const started: { abort: AbortController; settled: Promise<unknown> }[] = [];

/** An SQL line of exactly one filler line's length that leaves a trace outside the restored database. */
function evilLine(): string {
  const sql = `COPY (SELECT 1) TO '${marker}';`;
  return `${sql}${' '.repeat(FILLER_LINE.length - sql.length - 1)}\n`;
}

/** A filler line two thirds into the filler: far past the guard's held-back last block, not yet read by psql. */
function fillerOffset(bytes: Buffer): number {
  const first = bytes.indexOf(FILLER_LINE);
  return first + 100_000 * FILLER_LINE.length;
}

function psqlRunning(target: string): boolean {
  try {
    execFileSync('pgrep', ['-f', `psql .*-d ${target}$`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

async function targetExists(target: string): Promise<boolean> {
  const { rows } = await adminQuery(`SELECT 1 FROM pg_database WHERE datname = $1`, [target]);
  return rows.length > 0;
}

beforeEach(async () => {
  database = await createTestDatabase('bspool');
  directory = await mkdtemp(join(tmpdir(), 'bomnipotent-spool-'));
  // Written by the PostgreSQL server's own user: a place it can write.
  marker = join(tmpdir(), `bomnipotent-sql-ran-${database.name}`);
  world = createRealContext({ url: database.url, directory });
  await migrateToLatest(world);
  await world.db.query(`CREATE TABLE items (id serial PRIMARY KEY, label text NOT NULL)`);
  await world.db.query(`INSERT INTO items (label) SELECT 'row ' || g FROM generate_series(1, 300) g`);
  file = (await makeBackup(world)).file;
  // A signed backup with 30 MB of comment lines before its end: psql takes a moment to read through them.
  await rewriteBackup(directory, file, (sql) => beforeCompletionMarker(sql, FILLER_LINE.repeat(150_000)));
});

afterEach(async () => {
  // Left running, a restore would create or fill its target after the drop below lists the test's databases.
  for (const restore of started.splice(0)) {
    restore.abort.abort();
    await restore.settled;
  }
  await world.close();
  await database.drop();
  await rm(directory, { recursive: true, force: true });
  await rm(marker, { force: true });
});

async function restoreTo(target: string): Promise<Error | null> {
  const abort = new AbortController();
  const settled = world.executor
    .restore({
      directory,
      file,
      targetDatabase: target,
      read: { ...TEST_TRUST, allowUnsigned: false },
      signal: abort.signal,
    })
    .then(
      () => null,
      (e: unknown) => e as Error,
    );
  started.push({ abort, settled });
  return settled;
}

describe('no byte reaches psql before the whole file matched its signed manifest', () => {
  it('the file changed once psql runs (and put back afterwards) restores the signed bytes; the change never runs', async () => {
    const bytes = await readFile(join(directory, file));
    const offset = fillerOffset(bytes);
    const target = `${database.name}_swap`;
    const restore = restoreTo(target);
    // The attacker waits for the load to start, writes its SQL into the file's inode, and puts the bytes back.
    await until('psql loading the backup', async () => (psqlRunning(target) ? true : undefined), 60_000);
    const handle = await open(join(directory, file), 'r+');
    await handle.write(Buffer.from(evilLine()), 0, FILLER_LINE.length, offset);
    const error = await restore;
    await handle.write(Buffer.from(FILLER_LINE), 0, FILLER_LINE.length, offset);
    await handle.close();
    expect(existsSync(marker)).toBe(false);
    expect(error).toBeNull();
    const { rows } = await adminQuery<{ n: string }>(`SELECT count(*) AS n FROM items`, [], target);
    expect(rows[0]?.n).toBe('300');
    await adminQuery(`DROP DATABASE "${target}"`);
  }, 180_000);

  it('a second writer flipping the bytes during the whole read: refused or the signed bytes, never its SQL', async () => {
    const bytes = await readFile(join(directory, file));
    const offset = fillerOffset(bytes);
    const target = `${database.name}_flip`;
    const handle = await open(join(directory, file), 'r+');
    let writing = true;
    const writer = (async () => {
      for (let i = 0; writing; i += 1) {
        const line = i % 2 === 0 ? evilLine() : FILLER_LINE;
        await handle.write(Buffer.from(line), 0, FILLER_LINE.length, offset);
        await new Promise((r) => setTimeout(r, 2));
      }
      await handle.write(Buffer.from(FILLER_LINE), 0, FILLER_LINE.length, offset);
    })();
    const error = await restoreTo(target);
    writing = false;
    await writer;
    await handle.close();
    expect(existsSync(marker)).toBe(false);
    if (error) {
      expect(error.message).toMatch(/not the ones that were signed/);
      expect(await targetExists(target)).toBe(false);
    } else {
      await adminQuery(`DROP DATABASE "${target}"`);
    }
  }, 180_000);
});

describe('backup files others could write are refused', () => {
  it('group-writable: refused with a line naming the mode and the chmod', async () => {
    await chmod(join(directory, file), 0o664);
    const verified = await world.executor.verify(directory, file, { ...TEST_TRUST, allowUnsigned: false });
    expect(verified.ok ? '' : verified.reason).toMatch(/mode 0664.*|chmod 600/);
    const error = await restoreTo(`${database.name}_mode`);
    expect(error?.message).toMatch(/others than the server's user may write it \(mode 0664\)/);
    expect(await targetExists(`${database.name}_mode`)).toBe(false);
  });

  it.skipIf(process.getuid?.() !== 0)('owned by another uid: refused naming both uids', async () => {
    await chown(join(directory, file), 65534, 65534);
    const error = await restoreTo(`${database.name}_owner`);
    expect(error?.message).toMatch(/owned by uid 65534, not by the server's uid 0/);
  });
});
