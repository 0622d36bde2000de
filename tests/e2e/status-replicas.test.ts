// The status at a glance with two server processes (replicas) on one database and one backup directory, and no
// [[notify]] table: what one replica's copy run saw of the off-site store (a real S3 protocol server), and the
// problems it ran into (an off-site copy failing while the store is down, a backup failing for a directory that is
// not one), show in the other replica's GET /database-backup/status, `database-backup overview` and /status page,
// and close on both when they recover.
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BackupStatus } from '../../handlers/backup/status';
import { tearDown } from '../support/teardown';
import { adminQuery, createTestDatabase, type TestDatabase } from '../support/pg';
import { s3rverCredentialsEnv, startS3Server, type S3Server } from '../support/s3-server';
import { runClient, startListening, writeConfig, type ServerProcess } from '../support/server-process';

const ADMIN = 'admin@example.com';
const BUCKET = 'status-replicas';
const LOCATION = `s3://${BUCKET}/bomnipotent/`;

describe('the status at a glance is the same on every replica, without any [[notify]] channel', () => {
  let s3: S3Server;
  let db: TestDatabase;
  let a: ServerProcess | undefined;
  let b: ServerProcess | undefined;
  const temp = mkdtempSync(join(tmpdir(), 'bomnipotent-e2e-streps-'));
  const home = join(temp, 'admin-home');
  const backups = join(temp, 'backups');

  const client = (server: ServerProcess, ...args: string[]) =>
    runClient(['-d', server.url, '-u', ADMIN, ...args], { XDG_CONFIG_HOME: home });
  const status = async (server: ServerProcess) => {
    const raw = await client(server, '-o', 'raw', 'database-backup', 'overview');
    return JSON.parse(raw.stdout) as BackupStatus;
  };
  /** Asks `server` every half second until `ok` holds for its status. */
  const statusWhen = async (server: ServerProcess, what: string, ok: (s: BackupStatus) => boolean) => {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const s = await status(server);
      if (ok(s)) return s;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(s)}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  };
  const create = async () => client(a!, 'database-backup', 'create');
  const page = async (server: ServerProcess) => (await fetch(`${server.url}/status`)).text();

  beforeAll(async () => {
    mkdirSync(backups);
    s3 = await startS3Server();
    await s3.createBucket(BUCKET);
    db = await createTestDatabase('e2e_streps');
    const config = writeConfig(
      `db_url = "${db.url}"\nhttp_port = 0\nstatus_page = true\n[[tasks]]\nname = "database_backup"\n` +
        `directory = "${backups}"\nperiod = "1 hour"\nscheduled = false\noffsite = "${LOCATION}"\n` +
        `s3_endpoint = "${s3.endpoint}"\ns3_region = "us-east-1"\ns3_force_path_style = true\n`,
      temp,
    );
    // One after the other: the first creates the signing key next to the config, the second reads it.
    a = await startListening(config, s3rverCredentialsEnv());
    b = await startListening(config, s3rverCredentialsEnv());
    const requested = await runClient(['-d', a.url, 'user', 'request', ADMIN], { XDG_CONFIG_HOME: home });
    expect(requested.code, requested.stderr).toBe(0);
    await adminQuery(`UPDATE users SET status = 'APPROVED' WHERE name = $1`, [ADMIN], db.name);
    await adminQuery(`INSERT INTO user_roles (user_name, role) VALUES ($1, 'admin')`, [ADMIN], db.name);
  }, 120_000);
  afterAll(() => tearDown({ stop: [a, b, s3], db, dirs: [temp] }));

  it("shows replica A's off-site copy on replica B", async () => {
    const before = await status(b!);
    expect(before.offsite).toEqual({
      location: LOCATION,
      newestConfirmedAt: null,
      read: false,
      lastCopy: null,
    });
    expect(before.problems.map((p) => p.kind)).toEqual(['backup_stale']); // no backup yet

    const created = await create();
    expect(created.code, created.stderr).toBe(0);
    const onB = await statusWhen(b!, 'the copy run on B', (s) => s.offsite?.lastCopy?.ok === true);
    expect(onB.offsite).toMatchObject({
      location: LOCATION,
      read: true,
      newestConfirmedAt: onB.lastGoodBackup!.takenAt,
    });
    expect(onB.problems).toEqual([]);
    expect((await status(a!)).offsite).toEqual(onB.offsite);
    expect(await page(b!)).toContain(`${LOCATION}: newest copy`);
  }, 120_000);

  it('shows a failing off-site copy and a failed backup on both replicas, and closes them on recovery', async () => {
    await s3.stop();
    expect((await create()).code).toBe(0); // the local backup is made; its copy fails
    const copyFailed = (s: BackupStatus) =>
      s.offsite?.lastCopy?.ok === false && s.problems.some((p) => p.kind === 'offsite_failed');
    const onB = await statusWhen(b!, 'the failed copy on B', copyFailed);
    expect(onB.overall).toBe('warning');
    expect(onB.offsite!.read).toBe(true); // what the last good read saw is kept
    expect(copyFailed(await status(a!))).toBe(true);
    const overview = await client(b!, 'database-backup', 'overview');
    expect(overview.code).toBe(1);
    expect(overview.stdout).toMatch(/problem \(warning\) offsite_failed since /);
    expect(await page(b!)).toContain('<span class="kind">offsite_failed</span>');

    // A directory that is a file: the backup fails for real.
    renameSync(backups, `${backups}.kept`);
    writeFileSync(backups, 'not a directory');
    expect((await create()).code).not.toBe(0);
    const failedOnB = await statusWhen(b!, 'the failed backup on B', (s) =>
      s.problems.some((p) => p.kind === 'backup_failed'),
    );
    expect(failedOnB.overall).toBe('critical');
    // The status still answers while the directory cannot be read, and says so.
    expect(failedOnB.problems).toContainEqual(
      expect.objectContaining({ kind: 'directory_unreadable', severity: 'critical' }),
    );
    expect(await page(b!)).toContain('<span class="kind">backup_failed</span>');

    rmSync(backups);
    renameSync(`${backups}.kept`, backups);
    await s3.restart();
    expect((await create()).code).toBe(0);
    const recovered = await statusWhen(b!, 'recovery on B', (s) => s.problems.length === 0);
    expect(recovered).toMatchObject({ overall: 'ok', offsite: { read: true, lastCopy: { ok: true } } });
    expect((await status(a!)).problems).toEqual([]);
  }, 180_000);
});
