// Password authentication for real: a private cluster that asks every connection for a scram-sha-256 password.
// The tools get no password in argv (the process layer refuses it) and no PGPASSWORD, so a dump and a restore that
// succeed here were logged in by the 0600 passfile; a wrong password is refused, so the password is really checked.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../runtime/observability/logger';
import { createLocalExecutor } from '../../runtime/executor/local';
import { backupSeed } from '../support/backup-seed';
import { dumpNamed, EXECUTOR_TRUST } from '../support/backup-signer';
import { makeToolDirectory, recordingWrapper } from '../support/fake-tools';
import { startPrivateCluster, type PrivateCluster } from '../support/private-cluster';

const password = `Pw:@/${randomBytes(6).toString('hex')}`;
let cluster: PrivateCluster;
let work: string;
let tools: string;
const logs = () => join(work, 'logs');

async function superuserQuery(sql: string, database = 'postgres'): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: cluster.superuserUrl(database) });
  await client.connect();
  try {
    return await client.query(sql);
  } finally {
    await client.end();
  }
}

const appUrl = (pw: string) => `postgres://app:${encodeURIComponent(pw)}@127.0.0.1:${cluster.port}/appdb`;

beforeAll(async () => {
  cluster = await startPrivateCluster(randomBytes(12).toString('hex'));
  await superuserQuery(`CREATE ROLE app LOGIN CREATEDB PASSWORD '${password.replace(/'/g, "''")}'`);
  await superuserQuery(`CREATE DATABASE appdb OWNER app`);
  work = mkdtempSync(join(tmpdir(), 'bomnipotent-pwauth-'));
  tools = makeToolDirectory(
    Object.fromEntries(
      ['pg_dump', 'psql', 'createdb', 'dropdb'].map((t) => [t, recordingWrapper(t, logs())]),
    ),
  );
}, 120_000);
afterAll(async () => {
  await cluster?.stop();
  rmSync(work, { recursive: true, force: true });
  rmSync(tools, { recursive: true, force: true });
});

describe('password authentication (scram-sha-256, private cluster)', () => {
  it('the passfile logs pg_dump, createdb, psql and dropdb in; no password in argv or PGPASSWORD', async () => {
    mkdirSync(logs(), { recursive: true });
    const app = new pg.Client({ connectionString: appUrl(password) });
    await app.connect();
    await app.query(
      `CREATE TABLE docs (id int PRIMARY KEY, title text); INSERT INTO docs VALUES (1, 'kept')`,
    );
    await app.end();

    const executor = createLocalExecutor({
      dbUrl: appUrl(password),
      logger: silentLogger(),
      toolDirectory: tools,
    });
    const directory = join(work, 'backups');
    const file = 'appdb_20260111_103024.dump';
    await dumpNamed(executor, { directory, file, seed: backupSeed('appdb') });
    await executor.restore({
      directory,
      file,
      targetDatabase: 'appdb_copy',
      serverMajor: 15,
      read: EXECUTOR_TRUST,
    });
    const copied = await superuserQuery('SELECT title FROM docs', 'appdb_copy');
    expect(copied.rows).toEqual([{ title: 'kept' }]);

    const argv = readFileSync(join(logs(), 'argv.log'), 'utf8');
    expect(argv).toMatch(/^pg_dump /m);
    expect(argv).toMatch(/^psql /m);
    expect(argv).not.toContain(password);
    expect(argv).not.toContain(encodeURIComponent(password));
    const pgpassword = readFileSync(join(logs(), 'pgpassword.log'), 'utf8').trim().split('\n');
    expect(new Set(pgpassword)).toEqual(new Set(['unset']));
    // Each tool had a private passfile that held the password, and none of them is left.
    const modes = readFileSync(join(logs(), 'passfile-mode.log'), 'utf8').trim().split('\n');
    expect(new Set(modes)).toEqual(new Set(['600']));
    const escaped = password.replace(/[:\\]/g, (c) => `\\${c}`);
    expect(readFileSync(join(logs(), 'passfile-copy'), 'utf8').trim().endsWith(`:${escaped}`)).toBe(true);
    for (const path of readFileSync(join(logs(), 'passfile-path.log'), 'utf8').trim().split('\n'))
      expect(existsSync(path)).toBe(false);
  });

  it('a wrong password is refused by the server: the tools were logged in by the password, not let in', async () => {
    const wrong = `${password}-wrong`;
    const executor = createLocalExecutor({
      dbUrl: appUrl(wrong),
      logger: silentLogger(),
      toolDirectory: tools,
    });
    const directory = join(work, 'refused');
    const error = await dumpNamed(executor, {
      directory,
      file: 'appdb_20260111_103025.dump',
      seed: backupSeed('appdb'),
    }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'EXECUTOR.DUMP_FAILED' });
    expect((error as Error).message).toMatch(/password authentication failed for user "app"/);
    expect((error as Error).message).not.toContain(wrong);
    expect(existsSync(directory) ? readdirSync(directory) : []).toEqual([]);
  });
});
