// Fault matrix, the server killed mid-restore (SIGKILL to its whole process group, as a container kill): at the
// next start the real server finds either the old data or the backup's, says so in the audit log, and keeps only
// what the README promises.
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { beforeCompletionMarker, rewriteBackup } from '../support/restore-real';
import {
  ADMIN,
  adminQuery,
  auditTrail,
  backupFiles,
  changeContent,
  expectNothingLeft,
  openCell,
  until,
  untilPsqlSleepsIn,
  type CellWorld,
} from './harness';

let world: CellWorld | undefined;
let child: ChildProcess | undefined;
afterEach(async () => {
  if (child?.pid && child.exitCode === null && child.signalCode === null) process.kill(-child.pid, 'SIGKILL');
  child = undefined;
  await world?.close();
  world = undefined;
});

async function prepared(prefix: string) {
  const w = await openCell(prefix);
  world = w;
  // Plain files: a cell edits the dump's text.
  await w.start('compression = "none"');
  const created = await w.client('database-backup', 'create');
  expect(created.exitCode, created.stderr).toBe(0);
  const backupFp = await w.fingerprint();
  await changeContent(w.db.name);
  return { w, backup: backupFiles(w)[0]!, backupFp, oldFp: await w.fingerprint() };
}

/**
 * The restore use case in a process of its own, stopped at a moment the server gives no outside signal for
 * (between the two renames, right after the swap), then SIGKILLed with its process group.
 */
async function restoreKilledAt(w: CellWorld, phase: 'swap' | 'swapped'): Promise<void> {
  await w.server!.stop();
  const proc = spawn(process.execPath, ['--import', 'tsx', 'tests/support/restore-child.ts'], {
    cwd: resolve(import.meta.dirname, '../..'),
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      TMPDIR: w.serverTmp,
      RESTORE_CHILD_DB_URL: w.dbUrl,
      RESTORE_CHILD_DIR: w.directory,
      BOMNIPOTENT_TEST_PAUSE_AT: phase,
    },
  });
  child = proc;
  let out = '';
  proc.stdout.on('data', (c: Buffer) => (out += c.toString()));
  proc.stderr.on('data', (c: Buffer) => (out += c.toString()));
  await until(`the restore to reach ${phase}`, async () => {
    if (proc.exitCode !== null) throw new Error(`restore child exited: ${out}`);
    return out.includes(`PAUSED ${phase}`) ? true : undefined;
  });
  const exited = new Promise((r) => proc.once('exit', r));
  process.kill(-proc.pid!, 'SIGKILL');
  await exited;
}

/** Starts the real server again; its start-up recovery runs once the killed session's lock is gone. */
async function restart(w: CellWorld): Promise<void> {
  await until('the killed lock session to end', async () => {
    const { rows } = await adminQuery(
      `SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND objid::bigint = (hashtext($1)::bigint & 4294967295)`,
      [`bomnipotent-backup:${w.db.name}`],
    );
    return rows.length === 0 ? true : undefined;
  });
  await w.start();
}

describe('server killed', () => {
  it('SIGKILL during the scratch restore (psql mid-transaction): the old data', async () => {
    const { w, backup, oldFp } = await prepared('fx_kscr');
    await rewriteBackup(w.directory, backup, (sql) => beforeCompletionMarker(sql, 'SELECT pg_sleep(60);'));
    const restore = w.client('database-backup', 'completely-restore');
    await untilPsqlSleepsIn(`${w.db.name}\\_restore\\_%`, 'psql to be inside the scratch restore');
    await w.server!.kill();
    // The client follows its operation through lost connections (it would wait for this server to come back on its
    // old port): it is not awaited; the restarted server's recovery is what the cell checks.
    void restore.catch(() => {});
    await restart(w);
    await w.server!.waitFor(/Dropped '.+_restore_\d{14}', the unfinished scratch database/);
    expect(await w.fingerprint()).toBe(oldFp);
    expect(auditTrail(w).at(-1)).toMatchObject({
      action: 'restore',
      outcome: 'failed',
      message: expect.stringMatching(/interrupted before its swap/),
    });
    await expectNothingLeft(w, [], { serverWasKilled: true });
  });

  it('SIGKILL between the two renames (the database briefly has no name): the old data', async () => {
    const { w, oldFp } = await prepared('fx_kswp');
    await restoreKilledAt(w, 'swap');
    const { rows } = await adminQuery('SELECT 1 FROM pg_database WHERE datname = $1', [w.db.name]);
    expect(rows).toHaveLength(0);
    await restart(w);
    expect(await w.fingerprint()).toBe(oldFp);
    expect(auditTrail(w).slice(-2)).toMatchObject([
      { outcome: 'started', user: 'crash-test@example.com' },
      { outcome: 'failed', message: expect.stringMatching(/holds its previous content/) },
    ]);
    await expectNothingLeft(w, [], { serverWasKilled: true });
  });

  it("SIGKILL right after the swap: the backup's data, the previous database kept and named", async () => {
    const { w, backupFp } = await prepared('fx_kaft');
    await restoreKilledAt(w, 'swapped');
    await restart(w);
    const kept = await w.server!.waitFor(/Kept '([^']+_pre_restore_\d{14})'/);
    expect(await w.fingerprint()).toBe(backupFp);
    expect(auditTrail(w).slice(-2)).toMatchObject([
      { outcome: 'started', message: expect.stringContaining(kept[1]!) },
      { outcome: 'succeeded', message: expect.stringMatching(/holds the backup's data/) },
    ]);
    // The admin's own request still works on the restored database.
    expect((await w.client('whoami')).stdout).toContain(ADMIN);
    await expectNothingLeft(w, [kept[1]!], { serverWasKilled: true });
  });
});
