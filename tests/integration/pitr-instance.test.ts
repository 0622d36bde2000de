// The temporary instance of point-in-time recovery lets in nobody but this process's OS user as db_url's role: a real
// cluster (initdb, one more login role in it) started through prepareInstance, then reached as that role (works), as
// another role of the cluster from the same OS user (refused), as another OS user through its socket (refused: the
// folder and the socket are 0700), and over TCP (nothing listens).
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INSTANCE_PORT, prepareInstance, type RecoveryInstance } from '../../runtime/pitr/instance';
import { systemClock } from '../../runtime/observability/system-clock';
import { PG_BIN } from '../support/pg-bin';

const run = promisify(execFile);
const asRoot = process.getuid?.() === 0;
const major = Number(basename(dirname(PG_BIN)));
let root: string;
let instance: RecoveryInstance | undefined;
let ids: { uid: number; gid: number } | undefined;

async function idsOf(user: string): Promise<{ uid: number; gid: number }> {
  const { stdout: uid } = await run('id', ['-u', user]);
  const { stdout: gid } = await run('id', ['-g', user]);
  return { uid: Number(uid), gid: Number(gid) };
}

const connect = (user: string, folder = root) =>
  new pg.Client({
    host: folder,
    port: INSTANCE_PORT,
    user,
    database: 'postgres',
    connectionTimeoutMillis: 10_000,
  });

async function query(user: string, sql: string, folder = root): Promise<unknown> {
  const client = connect(user, folder);
  try {
    await client.connect();
    return (await client.query(sql)).rows[0];
  } finally {
    await client.end().catch(() => {});
  }
}

/** A real cluster (initdb, one more login role) in a new folder, started through prepareInstance. */
async function startInstance(osUser?: string | null): Promise<{ root: string; instance: RecoveryInstance }> {
  const folder = await mkdtemp(join(tmpdir(), 'bomnipotent-pitr-instance-'));
  const data = join(folder, 'data');
  const wal = join(folder, 'wal');
  await mkdir(data, { mode: 0o700 });
  await mkdir(wal);
  ids = asRoot ? await idsOf('postgres') : undefined;
  const as = ids ?? {};
  if (ids) await run('chown', ['-R', `${ids.uid}:${ids.gid}`, folder]);
  await run(join(PG_BIN, 'initdb'), ['-D', data, '-U', 'pitr_owner', '-A', 'trust'], as);
  // One more login role, made with initdb's own settings (trust on the socket) before the instance's take over.
  const single = `echo 'CREATE ROLE intruder LOGIN SUPERUSER;' | "$0" --single -D "$1" postgres >/dev/null`;
  await run('sh', ['-c', single, join(PG_BIN, 'postgres'), data], as);
  const started = await prepareInstance({
    root: folder,
    data,
    walDirectory: wal,
    major,
    targetTime: null,
    user: 'pitr_owner',
    clock: systemClock(),
    osUser,
  });
  await started.recover();
  return { root: folder, instance: started };
}

beforeAll(async () => {
  ({ root, instance } = await startInstance());
}, 120_000);

afterAll(async () => {
  await instance?.stop();
  if (root) await rm(root, { recursive: true, force: true });
});

describe('the temporary instance of point-in-time recovery', () => {
  it("lets this OS user in as db_url's role", async () => {
    expect(await query('pitr_owner', 'SELECT current_user AS me')).toEqual({ me: 'pitr_owner' });
  });

  it('refuses another role of the cluster, even a superuser, from the same OS user', async () => {
    await expect(query('intruder', 'SELECT 1')).rejects.toThrow(/Peer authentication failed|pg_hba\.conf/);
  });

  it.runIf(asRoot)('refuses another local OS user at the socket', async () => {
    const nobody = await idsOf('nobody');
    const attempt = await run(
      join(PG_BIN, 'psql'),
      ['-X', '-h', root, '-p', String(INSTANCE_PORT), '-U', 'pitr_owner', '-d', 'postgres', '-c', 'SELECT 1'],
      { ...nobody, env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } },
    ).then(
      () => 'connected',
      (error: { stderr?: string }) => error.stderr ?? '',
    );
    expect(attempt).toMatch(/Permission denied/);
    expect((await stat(root)).mode & 0o077).toBe(0);
  });

  it('listens on no TCP address; its socket is 0700', async () => {
    expect(await query('pitr_owner', 'SHOW listen_addresses')).toEqual({ listen_addresses: '' });
    const socket = await stat(join(root, `.s.PGSQL.${INSTANCE_PORT}`));
    expect(socket.mode & 0o777).toBe(0o700);
  });
});

// A container run with an arbitrary uid (no passwd entry): peer authentication cannot name the uid, so the instance
// trusts db_url's role alone on its private socket; another role is still refused.
describe('the temporary instance for a uid without a passwd entry', () => {
  it("lets db_url's role in and refuses another role", async () => {
    const other = await startInstance(null);
    try {
      expect(await query('pitr_owner', 'SELECT current_user AS me', other.root)).toEqual({
        me: 'pitr_owner',
      });
      await expect(query('intruder', 'SELECT 1', other.root)).rejects.toThrow(/no pg_hba\.conf entry/);
    } finally {
      await other.instance.stop();
      await rm(other.root, { recursive: true, force: true });
    }
  }, 120_000);
});
