// A restore that takes longer than a proxy lets a connection idle, through a proxy that cuts idle connections
// after 2 s: the client follows the operation and prints the exact success line; two clients share one restore.
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tearDown } from '../support/teardown';
import { holdPsql, loadPsqlRunning, releasePsql, slowPsqlToolDirectory } from '../support/fake-tools/index';
import { until } from '../support/until';
import { startCuttingProxy, type CuttingProxy } from '../support/cutting-proxy';
import { adminQuery, createTestDatabase, type TestDatabase } from '../support/pg';
import {
  CLIENT_BIN,
  runClient,
  startListening,
  writeConfig,
  type ServerProcess,
} from '../support/server-process';
import { randomToken, startSidecarProcess, type SidecarProcess } from '../support/sidecar-process';

const ADMIN = 'admin@example.com';
const PSQL_DELAY_S = 12;

/** A client process we can kill while it follows an operation. */
function spawnClient(args: string[], home: string) {
  const child = spawn(process.execPath, [CLIENT_BIN, ...args], {
    env: { ...process.env, XDG_CONFIG_HOME: home },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  const exited = new Promise<{ code: number | null; stdout: string }>((resolve) =>
    child.once('exit', (code) => resolve({ code, stdout })),
  );
  return { kill: () => child.kill('SIGKILL'), exited };
}

describe('long operations through a proxy that cuts idle connections', () => {
  let db: TestDatabase;
  let sidecar: SidecarProcess;
  let server: ServerProcess;
  let proxy: CuttingProxy;
  let configPath: string;
  const temp = mkdtempSync(join(tmpdir(), 'bomnipotent-e2e-ops-'));
  const backups = join(temp, 'backups');
  const home = join(temp, 'home');
  const tools = slowPsqlToolDirectory(PSQL_DELAY_S);
  const client = (url: string, ...args: string[]) =>
    runClient(['-d', url, '-u', ADMIN, ...args], { XDG_CONFIG_HOME: home });
  const titles = async () =>
    (await adminQuery<{ title: string }>('SELECT title FROM docs ORDER BY id', [], db.name)).rows.map(
      (r) => r.title,
    );
  const scratchCopies = async () =>
    (
      await adminQuery<{ datname: string }>(
        'SELECT datname FROM pg_database WHERE datname LIKE $1 ORDER BY datname',
        [`${db.name}\\_restore\\_%`],
      )
    ).rows.map((r) => r.datname);
  const statusOf = async (id: string) => {
    const answer = await client(server.url, '-o', 'raw', 'database-backup', 'status', id);
    return JSON.parse(answer.stdout) as {
      state: string;
      phase: string;
      kind: string;
      result: { body: { code?: string; detail?: string } } | null;
    };
  };
  const waitForRunningRestore = async (): Promise<string> => {
    for (let i = 0; i < 100; i += 1) {
      const answer = await client(server.url, '-o', 'raw', 'database-backup', 'status');
      const { operations } = JSON.parse(answer.stdout) as {
        operations: { id: string; kind: string; state: string; phase: string }[];
      };
      const restore = operations.find(
        (o) => o.kind === 'restore' && o.state === 'running' && o.phase === 'restoring',
      );
      if (restore) return restore.id;
      await new Promise((r) => setTimeout(r, 300));
    }
    throw new Error('no restore started');
  };

  beforeAll(async () => {
    db = await createTestDatabase('e2e_ops');
    sidecar = await startSidecarProcess({
      dbUrl: db.url,
      directory: backups,
      toolDirectory: tools,
      token: randomToken(),
    });
    configPath = writeConfig(
      `db_url = "${db.url}"\nhttp_port = 0\n# Every follower polls through the one proxy address: the default 100 requests a minute would be shared.\n[dos_prevention]\nlimit = 10000\n[[tasks]]\nname = "database_backup"\ndirectory = "${backups}"\n` +
        `scheduled = false\nexecutor = "sidecar"\nexecutor_url = "${sidecar.url}"\nexecutor_token = "${sidecar.token}"\n`,
      temp,
    );
    server = await startListening(configPath);
    proxy = await startCuttingProxy({ host: '127.0.0.1', port: Number(new URL(server.url).port) }, 2_000);
    expect(
      (await runClient(['-d', server.url, 'user', 'request', ADMIN], { XDG_CONFIG_HOME: home })).code,
    ).toBe(0);
    await adminQuery(`UPDATE users SET status = 'APPROVED' WHERE name = $1`, [ADMIN], db.name);
    await adminQuery(`INSERT INTO user_roles (user_name, role) VALUES ($1, 'admin')`, [ADMIN], db.name);
    await adminQuery('CREATE TABLE docs (id serial PRIMARY KEY, title text NOT NULL)', [], db.name);
    await adminQuery(`INSERT INTO docs (title) VALUES ('sbom-1'), ('csaf-1')`, [], db.name);
  });
  afterAll(() => tearDown({ stop: [proxy, server, sidecar], db, dirs: [temp, tools] }));

  it('the proxy really cuts a connection that stays idle for 2 s', async () => {
    const closed = await new Promise<number>((resolve) => {
      const started = Date.now();
      const socket = connect(Number(new URL(proxy.url).port), '127.0.0.1');
      socket.on('close', () => resolve(Date.now() - started));
    });
    expect(closed).toBeGreaterThanOrEqual(2_000);
    expect(proxy.cuts()).toBeGreaterThanOrEqual(1);
  });

  it('a restore lasting longer than 10 s succeeds through it with the exact line; a second client attaches', async () => {
    const created = await client(proxy.url, 'database-backup', 'create');
    const path = /^\[INFO\] Successfully stored database backup under '(.+)'\.\n$/.exec(created.stdout)?.[1];
    expect(path, created.stderr).toBeDefined();
    await adminQuery(`INSERT INTO docs (title) VALUES ('after-backup')`, [], db.name);

    const started = Date.now();
    const first = client(proxy.url, 'database-backup', 'completely-restore');
    const id = await waitForRunningRestore();
    const second = await client(proxy.url, 'database-backup', 'completely-restore');
    const firstDone = await first;
    const elapsed = Date.now() - started;

    const line = `[INFO] Successfully restored database from backup '${path}'.\n`;
    expect([firstDone.stdout, firstDone.stderr, firstDone.code]).toEqual([line, '', 0]);
    expect([second.stdout, second.stderr, second.code]).toEqual([line, '', 0]);
    expect(elapsed).toBeGreaterThan(10_000);
    expect(await titles()).toEqual(['sbom-1', 'csaf-1']);
    // One restore ran: the second client followed the first one's operation.
    const { operations } = JSON.parse(
      (await client(server.url, '-o', 'raw', 'database-backup', 'status')).stdout,
    ) as {
      operations: { id: string; kind: string; state: string }[];
    };
    expect(operations.filter((o) => o.kind === 'restore').map((o) => [o.id, o.state])).toEqual([
      [id, 'succeeded'],
    ]);
    expect(server.output()).toMatch(new RegExp(`Operation ${id} \\(restore\\): restoring`));
  });

  it('a client killed while it follows does not stop the operation', async () => {
    const follower = spawnClient(
      ['-d', proxy.url, '-u', ADMIN, 'database-backup', 'completely-restore'],
      home,
    );
    const id = await waitForRunningRestore();
    follower.kill();
    expect((await follower.exited).stdout).toBe('');
    let status = await statusOf(id);
    for (let i = 0; i < 60 && status.state === 'running'; i += 1) {
      await new Promise((r) => setTimeout(r, 500));
      status = await statusOf(id);
    }
    expect(status.state, JSON.stringify(status)).toBe('succeeded');
  });

  it('a server killed during a restore reports it failed after the restart, with the reason; the data is intact', async () => {
    await adminQuery(`INSERT INTO docs (title) VALUES ('kept')`, [], db.name);
    // The sidecar drops the scratch copy of a restore whose server went away once its psql ends: psql is held until
    // the restarted server has run its recovery, however long the restart takes on a busy machine.
    holdPsql(tools);
    let scratch: string;
    try {
      const follower = spawnClient(
        ['-d', proxy.url, '-u', ADMIN, 'database-backup', 'completely-restore'],
        home,
      );
      const id = await waitForRunningRestore();
      // The phase is announced before the executor creates the scratch copy: killed once it exists.
      scratch = await until('the scratch database of the restore', async () => (await scratchCopies())[0]);
      // And once its psql runs: killed earlier (the scratch copy is made beside the spool), the sidecar drops the
      // copy itself when its server goes away, and the restarted server has nothing left to drop.
      await until("the load's psql", async () => (loadPsqlRunning(tools) ? true : undefined));
      await server.stop('SIGKILL');
      follower.kill(); // it would keep trying to reach the dead server for minutes
      await follower.exited;
      server = await startListening(configPath);
      await proxy.close();
      proxy = await startCuttingProxy({ host: '127.0.0.1', port: Number(new URL(server.url).port) }, 2_000);
      expect(server.output()).toContain(
        `Dropped '${scratch}', the unfinished scratch database of an interrupted restore`,
      );
      expect(await scratchCopies()).toEqual([]);
      const status = await statusOf(id);
      expect(status.state).toBe('failed');
      expect(status.result?.body.code).toBe('OPERATION.INTERRUPTED');
      expect(status.result?.body.detail).toMatch(/The server stopped while it ran/);
      expect(await titles()).toEqual(['sbom-1', 'csaf-1', 'kept']);
    } finally {
      releasePsql(tools);
    }
    // Released, the sidecar's psql ends and the sidecar gives up the restore its server left.
    await until(
      'the sidecar to end the abandoned restore',
      async () => (sidecar.output().includes(`into ${scratch} failed`) ? true : undefined),
      60_000,
    );
    expect(await scratchCopies()).toEqual([]);
  });
});
