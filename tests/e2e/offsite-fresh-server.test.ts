// Disaster recovery as the README tells it, with two real server processes, the real client and a real S3 protocol
// server: server A backs up into the store; then A's database and backup directory are gone, and server B, on a new
// empty database of the same name, an empty directory and a signing key of its own, trusting A's public key and
// holding the age identity, bootstraps its admin through tmp_admin, restores A's latest (encrypted) backup from the
// store, and serves A's users and data.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tearDown } from '../support/teardown';
import { adminQuery, createTestDatabase, type TestDatabase } from '../support/pg';
import { s3rverCredentialsEnv, startS3Server, type S3Server } from '../support/s3-server';
import { runClient, startListening, writeConfig, type ServerProcess } from '../support/server-process';

const ADMIN = 'admin@example.com';
const BUCKET = 'disaster-recovery';

/** Every row of the tables that make up "A's data": the docs and the accounts. */
async function snapshot(database: string): Promise<Record<string, unknown[]>> {
  const query = async (sql: string) => (await adminQuery(sql, [], database)).rows;
  return {
    docs: await query('SELECT id, title, body FROM docs ORDER BY id'),
    users: await query('SELECT name, status FROM users ORDER BY name'),
    roles: await query('SELECT user_name, role FROM user_roles ORDER BY user_name, role'),
  };
}

describe('a new server restores the old one from the off-site copies', () => {
  let s3: S3Server;
  let db: TestDatabase;
  let serverA: ServerProcess | undefined;
  let serverB: ServerProcess | undefined;
  const temp = mkdtempSync(join(tmpdir(), 'bomnipotent-e2e-dr-'));
  const home = join(temp, 'admin-home'); // the admin's client folder: the same key signs for A and for B
  const dirA = join(temp, 'server-a');
  const dirB = join(temp, 'server-b');
  const keptSafe = join(temp, 'kept-safe'); // away from the server: the age identity
  const identityFile = join(keptSafe, 'age-identity.txt');
  let recipient = '';
  const backupsA = join(dirA, 'backups');
  const backupsB = join(dirB, 'backups');
  const s3Env = s3rverCredentialsEnv();
  let publicKeyA = '';
  let dataA: Record<string, unknown[]> = {};
  let backupFile = '';
  let configB = '';
  let configPathB = '';

  const client = (server: ServerProcess, ...args: string[]) =>
    runClient(['-d', server.url, '-u', ADMIN, ...args], { XDG_CONFIG_HOME: home });
  const taskConfig = (directory: string, extra = '') =>
    `[[tasks]]\nname = "database_backup"\ndirectory = "${directory}"\nscheduled = false\n` +
    `offsite = "s3://${BUCKET}/bomnipotent/"\ns3_endpoint = "${s3.endpoint}"\ns3_region = "us-east-1"\n` +
    `s3_force_path_style = true\n${extra}`;

  beforeAll(async () => {
    mkdirSync(dirA);
    mkdirSync(dirB);
    mkdirSync(keptSafe);
    execFileSync('age-keygen', ['-o', identityFile], { stdio: 'ignore' });
    recipient = /# public key: (age1\S+)/.exec(readFileSync(identityFile, 'utf8'))![1]!;
    s3 = await startS3Server();
    await s3.createBucket(BUCKET);
    db = await createTestDatabase('e2e_dr');
  });
  afterAll(() => tearDown({ stop: [serverA, serverB, s3], db, dirs: [temp] }));

  it('server A backs up into the store', async () => {
    const configA = writeConfig(
      `db_url = "${db.url}"\nhttp_port = 0\n${taskConfig(backupsA, `encryption_recipients = ["${recipient}"]\n`)}`,
      dirA,
    );
    serverA = await startListening(configA, s3Env);
    const logged = await serverA.waitFor(/another server restores them with trusted_keys = \["([^"]+)"\]/);
    publicKeyA = logged[1]!;
    expect(publicKeyA).toMatch(/^ed25519:/);

    // A's admin (set up directly in A's database: A's own bootstrap is not what this test is about).
    expect(
      (await runClient(['-d', serverA.url, 'user', 'request', ADMIN], { XDG_CONFIG_HOME: home })).code,
    ).toBe(0);
    await adminQuery(`UPDATE users SET status = 'APPROVED' WHERE name = $1`, [ADMIN], db.name);
    await adminQuery(`INSERT INTO user_roles (user_name, role) VALUES ($1, 'admin')`, [ADMIN], db.name);
    await adminQuery(
      'CREATE TABLE docs (id serial PRIMARY KEY, title text NOT NULL, body jsonb)',
      [],
      db.name,
    );
    await adminQuery(
      `INSERT INTO docs (title, body) SELECT 'sbom-' || i, jsonb_build_object('n', i, 'pkg', md5(i::text))
       FROM generate_series(1, 500) AS i`,
      [],
      db.name,
    );

    const created = await client(serverA, 'database-backup', 'create');
    const m = created.stdout.match(/^\[INFO\] Successfully stored database backup under '(.+)'\.\n$/);
    expect(m, created.stdout + created.stderr).not.toBeNull();
    backupFile = m![1]!.slice(backupsA.length + 1);
    expect(backupFile).toMatch(/\.dump\.zst\.age$/);
    const listed = await client(serverA, '-o', 'raw', 'database-backup', 'list');
    const backups = (JSON.parse(listed.stdout) as { backups: { file: string; location: string }[] }).backups;
    expect(backups).toEqual([expect.objectContaining({ file: backupFile, location: 'both' })]);
    dataA = await snapshot(db.name);
    expect(dataA.docs).toHaveLength(500);
  });

  it('A is lost: its database, its backup directory and its signing key are gone', async () => {
    await serverA!.stop();
    serverA = undefined;
    await adminQuery(`DROP DATABASE "${db.name}" WITH (FORCE)`);
    rmSync(dirA, { recursive: true, force: true });
    // README step 1: an empty database for the new server, named like the old one.
    await adminQuery(`CREATE DATABASE "${db.name}"`);
  });

  it('server B starts on the empty database, and its admin bootstraps through tmp_admin', async () => {
    configB =
      `db_url = "${db.url}"\nhttp_port = 0\n` +
      taskConfig(
        backupsB,
        `trusted_keys = ["${publicKeyA}"]\nencryption_identity_file = "${identityFile}"\n`,
      );
    configPathB = writeConfig(configB, dirB);
    serverB = await startListening(configPathB, s3Env);
    const logged = await serverB.waitFor(/Backups are signed with (ed25519:\S+);/);
    expect(logged[1]).not.toBe(publicKeyA); // a key of its own

    // The same admin, with the same key, asks the new server for an account; the answer names the tmp_admin line.
    const requested = await runClient(['-d', serverB.url, 'user', 'request', ADMIN], {
      XDG_CONFIG_HOME: home,
    });
    expect(requested.code, requested.stderr).toBe(0);
    const line = /\[user\] tmp_admin = "([^"]+)"/.exec(requested.stdout + requested.stderr);
    expect(line).not.toBeNull();
    writeFileSync(configPathB, `${configB}[user]\ntmp_admin = "${line![1]!}"\n`);
    await serverB.waitFor(/Configuration successfully reloaded/, 15_000);

    // The store holds A's backup, trusted through trusted_keys; the new directory holds nothing.
    const listed = await client(serverB, '-o', 'raw', 'database-backup', 'list', '--offsite');
    expect(listed.code, listed.stderr).toBe(0);
    const backups = (
      JSON.parse(listed.stdout) as { backups: { file: string; location: string; verified: boolean }[] }
    ).backups;
    expect(backups).toEqual([
      expect.objectContaining({ file: backupFile, location: 'offsite', verified: true }),
    ]);
  });

  it('a dry run names the object it would download, and downloads nothing', async () => {
    const dry = await client(serverB!, 'database-backup', 'completely-restore', '--dry-run');
    expect(dry.code, dry.stderr).toBe(0);
    expect(
      dry.stdout.startsWith(
        `[INFO] Dry run: backup '${backupFile}' is only in s3://${BUCKET}/bomnipotent/; a restore would download ` +
          `it (object 'bomnipotent/${backupFile}' in bucket '${BUCKET}') into '${backupsB}', verify it and restore it; nothing was changed.\n` +
          `Backup:   ${backupFile}\n`,
      ),
      dry.stdout,
    ).toBe(true);
    expect(existingFiles(backupsB)).toEqual([]);
  });

  it("restores A's latest backup from the store: A's admin signs in to B and A's data is there exactly", async () => {
    rmSync(backupsB, { recursive: true, force: true }); // the directory need not exist: the download creates it
    // The admin's own record says which backup is the newest: another one found is refused, with one clear line.
    const unexpected = await client(
      serverB!,
      'database-backup',
      'completely-restore',
      '--expect-newest',
      '7',
    );
    expect(unexpected.code).toBe(1);
    expect(unexpected.stderr).toContain(
      `[ERROR] The newest trusted backup of database '${db.name}' in s3://${BUCKET}/bomnipotent/ is '${backupFile}' ` +
        '(sequence 1), not the expected sequence 7. No other backup is restored in its place.',
    );
    expect(existingFiles(backupsB)).toEqual([]);
    const restored = await client(
      serverB!,
      'database-backup',
      'completely-restore',
      '--expect-newest',
      backupFile,
    );
    expect(restored.stdout, restored.stderr).toBe(
      `[INFO] Successfully restored database from backup '${join(backupsB, backupFile)}'.\n`,
    );
    expect(await snapshot(db.name)).toEqual(dataA);

    // tmp_admin is removed (README step 6): the admin is one by A's data alone.
    writeFileSync(configPathB, configB);
    await serverB!.waitFor(/(Configuration successfully reloaded[\s\S]*){2}/, 15_000);
    const who = await client(serverB!, 'who-am-i');
    expect(who.stdout, who.stderr).toBe(`[INFO] The server at ${serverB!.url} treats you as '${ADMIN}'.\n`);
    const listed = await client(serverB!, '-o', 'raw', 'database-backup', 'list');
    expect(listed.code, listed.stderr).toBe(0);
    const backups = (JSON.parse(listed.stdout) as { backups: { file: string; location: string }[] }).backups;
    expect(backups).toEqual([expect.objectContaining({ file: backupFile, location: 'both' })]);
  });
});

function existingFiles(directory: string): string[] {
  try {
    return readdirSync(directory).filter((name) => name !== 'audit.log.jsonl');
  } catch {
    return [];
  }
}
