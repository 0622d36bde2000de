// Two server processes on one database, a writer loop against each and a reader on the other replica while one of
// them restores: no write that either replica acknowledges during the restore is lost, every refused write is a 503
// with Retry-After, and the other replica keeps answering reads except around the swap.
import { spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signRequest } from '../../client/signing';
import { holdPsql, releasePsql, slowPsqlToolDirectory } from '../support/fake-tools/index';
import { adminQuery, createTestDatabase, type TestDatabase } from '../support/pg';
import {
  CLIENT_BIN,
  runClient,
  startListening,
  writeConfig,
  type ServerProcess,
} from '../support/server-process';
import { randomToken, startSidecarProcess, type SidecarProcess } from '../support/sidecar-process';
import { until } from '../support/until';

const ADMIN = 'admin@example.com';
// The restore's load lasts at least this long; psql is also held (holdPsql) until a third server has started in the
// middle of the restore, however long that takes on a busy machine.
const PSQL_DELAY_S = 14;
const PAUSE_MS = 15;

function keyPair() {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519', {
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  return { secretKeyPem: privateKey, publicKeyPem: publicKey };
}

interface Answer {
  replica: 'A' | 'B';
  name: string;
  sentAt: number;
  answeredAt: number;
  status: number;
  retryAfter: string | null;
  code: string | null;
}

/** Sends requests one after another until stopped; a network failure counts as status 0. */
function loop(next: (i: number) => Promise<Answer>) {
  const answers: Answer[] = [];
  let running = true;
  const done = (async () => {
    for (let i = 0; running; i += 1) {
      answers.push(await next(i));
      await new Promise((r) => setTimeout(r, PAUSE_MS));
    }
  })();
  return {
    answers,
    stop: async () => {
      running = false;
      await done;
    },
  };
}

async function send(replica: 'A' | 'B', name: string, url: string, init: RequestInit): Promise<Answer> {
  const sentAt = Date.now();
  try {
    const res = await fetch(url, init);
    const text = await res.text();
    let code: string | null = null;
    if (res.status >= 400) code = (JSON.parse(text) as { code?: string }).code ?? null;
    return {
      replica,
      name,
      sentAt,
      answeredAt: Date.now(),
      status: res.status,
      retryAfter: res.headers.get('retry-after'),
      code,
    };
  } catch {
    return { replica, name, sentAt, answeredAt: Date.now(), status: 0, retryAfter: null, code: null };
  }
}

/** The longest stretch of time covered by answers that are not `ok`, from the first such send to the answer after it. */
function longestOutage(answers: Answer[], ok: (a: Answer) => boolean): number {
  let longest = 0;
  let since: number | null = null;
  for (const a of answers) {
    if (!ok(a)) since ??= a.sentAt;
    else if (since !== null) {
      longest = Math.max(longest, a.sentAt - since);
      since = null;
    }
  }
  return longest;
}

describe('two replicas on one database during a restore', () => {
  let db: TestDatabase;
  let a: ServerProcess;
  let b: ServerProcess;
  let c: ServerProcess | undefined;
  let sidecar: SidecarProcess;
  let configA: string;
  let configB: string;
  const temp = mkdtempSync(join(tmpdir(), 'bomnipotent-e2e-replicas-'));
  const backups = join(temp, 'backups');
  const home = join(temp, 'home');
  const tools = slowPsqlToolDirectory(PSQL_DELAY_S);
  const admin = keyPair();
  const adminKeyPath = join(temp, 'admin_secret_key.pem');
  const client = (url: string, ...args: string[]) =>
    runClient(['-d', url, '-u', ADMIN, '-s', adminKeyPath, ...args], { XDG_CONFIG_HOME: home });
  const limits = `[dos_prevention]\nlimit = 1000000\nnew_user_limit = 1000000\nnew_user_limit_per_address = 1000000\n`;

  beforeAll(async () => {
    db = await createTestDatabase('e2e_replicas');
    writeFileSync(adminKeyPath, admin.secretKeyPem, { mode: 0o600 });
    mkdirSync(join(temp, 'a'));
    mkdirSync(join(temp, 'b'));
    // The restore's psql runs in a sidecar whose tool directory holds the slow one.
    sidecar = await startSidecarProcess({
      dbUrl: db.url,
      directory: backups,
      toolDirectory: tools,
      token: randomToken(),
    });
    configA = writeConfig(
      `db_url = "${db.url}"\nhttp_port = 0\n${limits}[[tasks]]\nname = "database_backup"\ndirectory = "${backups}"\nscheduled = false\n` +
        `executor = "sidecar"\nexecutor_url = "${sidecar.url}"\nexecutor_token = "${sidecar.token}"\n`,
      join(temp, 'a'),
    );
    configB = writeConfig(`db_url = "${db.url}"\nhttp_port = 0\n${limits}`, join(temp, 'b'));
    a = await startListening(configA);
    b = await startListening(configB);
    const requested = await fetch(`${a.url}/users`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ user: ADMIN, publicKey: admin.publicKeyPem }),
    });
    expect(requested.status).toBe(201);
    await adminQuery(`UPDATE users SET status = 'APPROVED' WHERE name = $1`, [ADMIN], db.name);
    await adminQuery(`INSERT INTO user_roles (user_name, role) VALUES ($1, 'admin')`, [ADMIN], db.name);
  });
  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await c?.stop();
    await sidecar?.stop();
    await db?.drop();
    rmSync(temp, { recursive: true, force: true });
    rmSync(tools, { recursive: true, force: true });
  });

  it('no acknowledged write is lost, every refused write is 503 with Retry-After, reads go on', async () => {
    const created = await client(a.url, 'database-backup', 'create');
    expect(created.code, created.stderr).toBe(0);

    const writer = (replica: 'A' | 'B', url: string) =>
      loop((i) => {
        const name = `w-${replica.toLowerCase()}-${i}@example.com`;
        return send(replica, name, `${url}/users`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ user: name, publicKey: keyPair().publicKeyPem }),
        });
      });
    const reader = (replica: 'A' | 'B', url: string) =>
      loop(() =>
        send(replica, 'read', `${url}/users`, {
          headers: signRequest({
            method: 'GET',
            baseUrl: url,
            pathAndQuery: '/users',
            user: ADMIN,
            body: '',
            secretKeyPem: admin.secretKeyPem,
          }),
        }),
      );
    const writers = [writer('A', a.url), writer('B', b.url)];
    const readers = { A: reader('A', a.url), B: reader('B', b.url) };
    await new Promise((r) => setTimeout(r, 500)); // writes acknowledged before the restore: the backup replaces them

    const restoreStarted = Date.now();
    let restoreDone = false;
    holdPsql(tools);
    const restoring = client(a.url, 'database-backup', 'completely-restore').finally(
      () => (restoreDone = true),
    );
    let duringOnC: Answer;
    let cStartedDuringRestore: boolean;
    try {
      // A replica started in the middle of the restore starts, and refuses writes too.
      await until(
        'a write refused on replica B',
        async () => (writers[1]!.answers.some((w) => w.status === 503) ? true : undefined),
        60_000,
      );
      c = await startListening(configB);
      duringOnC = await send('B', 'w-c-during@example.com', `${c.url}/users`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ user: 'w-c-during@example.com', publicKey: keyPair().publicKeyPem }),
      });
      cStartedDuringRestore = !restoreDone;
    } finally {
      releasePsql(tools);
    }
    const restored = await restoring;
    const restoreEnded = Date.now();
    await new Promise((r) => setTimeout(r, 1_000)); // writes after the restore are kept
    for (const w of writers) await w.stop();
    await readers.A.stop();
    await readers.B.stop();
    const afterOnC = await fetch(`${c.url}/users`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ user: 'w-c-after@example.com', publicKey: keyPair().publicKeyPem }),
    });

    expect(restored.stdout, restored.stderr).toMatch(/Successfully restored database from backup/);
    expect(restoreEnded - restoreStarted).toBeGreaterThan(PSQL_DELAY_S * 1000);
    const writes = writers.flatMap((w) => w.answers);
    const present = new Set(
      (await adminQuery<{ name: string }>('SELECT name FROM users', [], db.name)).rows.map((r) => r.name),
    );

    // Every refused write is a 503 with Retry-After; nothing else but 201 answers a write.
    for (const w of writes) {
      if (w.status === 201) continue;
      expect({ status: w.status, retryAfter: w.retryAfter !== null }, `${w.replica} ${w.code}`).toEqual({
        status: 503,
        retryAfter: true,
      });
    }
    // Both replicas refused writes during the restore: the other one too, not only the restoring one.
    const refusedAt = (replica: 'A' | 'B') =>
      writes.filter((w) => w.replica === replica && w.status === 503).map((w) => w.answeredAt);
    expect(refusedAt('A').length).toBeGreaterThan(0);
    expect(refusedAt('B').length).toBeGreaterThan(0);
    // From the first refusal anywhere on (PostgreSQL refuses writes for every session by then), every write sent and
    // acknowledged by either replica is in the database.
    const firstRefusal = Math.min(...refusedAt('A'), ...refusedAt('B'));
    const acknowledged = writes.filter((w) => w.status === 201 && w.sentAt > firstRefusal);
    const lost = acknowledged.filter((w) => !present.has(w.name)).map((w) => `${w.replica} ${w.name}`);
    expect(lost).toEqual([]);
    // Writes resumed on both replicas after the restore, and those are kept too.
    expect(acknowledged.filter((w) => w.replica === 'A' && w.sentAt > restoreEnded).length).toBeGreaterThan(
      0,
    );
    expect(acknowledged.filter((w) => w.replica === 'B' && w.sentAt > restoreEnded).length).toBeGreaterThan(
      0,
    );
    // The backup replaced what was written before the restore began.
    expect(writes.some((w) => w.status === 201 && w.sentAt < firstRefusal && !present.has(w.name))).toBe(
      true,
    );

    // The replica started mid-restore refused its write with 503 and took one after the restore.
    expect(cStartedDuringRestore).toBe(true);
    expect([duringOnC.status, duringOnC.code, duringOnC.retryAfter]).toEqual([503, 'SERVER.READ_ONLY', '5']);
    expect(afterOnC.status).toBe(201);
    expect(present.has('w-c-during@example.com')).toBe(false);
    expect(
      (await adminQuery('SELECT 1 FROM users WHERE name = $1', ['w-c-after@example.com'], db.name)).rowCount,
    ).toBe(1);

    // Both replicas answered reads during the restore; the longest stretch without one is around the swap.
    const readsDuring = (replica: 'A' | 'B') =>
      readers[replica].answers.filter((r) => r.sentAt >= restoreStarted && r.sentAt <= restoreEnded);
    for (const replica of ['A', 'B'] as const) {
      const reads = readsDuring(replica);
      expect(reads.filter((r) => r.status === 200).length).toBeGreaterThan(reads.length / 2);
      for (const r of readers[replica].answers.filter((x) => x.status !== 200)) {
        expect([r.status, r.retryAfter !== null]).toEqual([503, true]);
      }
    }
    const lastRefusal = (replica: 'A' | 'B') => Math.max(...refusedAt(replica));
    const report = {
      restoreMs: restoreEnded - restoreStarted,
      writesRefusedMs: {
        A: lastRefusal('A') - Math.min(...refusedAt('A')),
        B: lastRefusal('B') - Math.min(...refusedAt('B')),
      },
      refused: { A: refusedAt('A').length, B: refusedAt('B').length },
      acknowledgedDuringOrAfter: acknowledged.length,
      reads: {
        A: `${readsDuring('A').filter((r) => r.status === 200).length}/${readsDuring('A').length}`,
        B: `${readsDuring('B').filter((r) => r.status === 200).length}/${readsDuring('B').length}`,
      },
      failedReads: {
        A: readers.A.answers
          .filter((x) => x.status !== 200)
          .map((x) => `${x.sentAt - restoreStarted}ms ${x.code}`),
        B: readers.B.answers
          .filter((x) => x.status !== 200)
          .map((x) => `${x.sentAt - restoreStarted}ms ${x.code}`),
      },
      longestReadOutageMs: {
        A: longestOutage(readers.A.answers, (r) => r.status === 200),
        B: longestOutage(readers.B.answers, (r) => r.status === 200),
      },
      refusedCodes: [...new Set(writes.filter((w) => w.status === 503).map((w) => `${w.replica}:${w.code}`))],
    };
    console.log(`replicas during a restore: ${JSON.stringify(report)}`);
  }, 120_000);
  it('a restore killed on one replica: the other replica heals the leftover read-only setting and takes writes', async () => {
    const name = (i: number) => `k-${i}@example.com`;
    const write = (i: number) =>
      send('B', name(i), `${b.url}/users`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ user: name(i), publicKey: keyPair().publicKeyPem }),
      });
    expect((await client(a.url, 'database-backup', 'create')).code).toBe(0);
    // A client we can kill: once its server is gone it would keep polling for minutes.
    const follower = spawn(
      process.execPath,
      [CLIENT_BIN, '-d', a.url, '-u', ADMIN, '-s', adminKeyPath, 'database-backup', 'completely-restore'],
      { env: { ...process.env, XDG_CONFIG_HOME: home }, stdio: 'ignore' },
    );
    const followerExited = new Promise((r) => follower.once('exit', r));
    let i = 0;
    const answer = await until(
      'a write refused on replica B once the restore began',
      async () => {
        const next = await write(i);
        i += 1;
        return next.status === 201 ? undefined : next;
      },
      60_000,
    );
    expect([answer.status, answer.retryAfter !== null]).toEqual([503, true]);
    await a.stop('SIGKILL');
    follower.kill('SIGKILL');
    await followerExited;
    const killedAt = Date.now();

    // Nobody restores any more, yet the database stays read-only until a replica notices: B does, on a refused write.
    const answers: Answer[] = [];
    for (let n = 0; n < 300; n += 1) {
      answers.push(await write(1000 + n));
      if (answers.at(-1)!.status === 201) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const healedAfterMs = Date.now() - killedAt;
    expect(answers.at(-1)!.status).toBe(201);
    for (const x of answers.slice(0, -1)) expect([x.status, x.retryAfter !== null]).toEqual([503, true]);
    expect(b.output()).toMatch(
      /is read-only, but no restore holds the backup lock: a restore was interrupted/,
    );
    const kept = await adminQuery('SELECT 1 FROM users WHERE name = $1', [answers.at(-1)!.name], db.name);
    expect(kept.rowCount).toBe(1);
    console.log(`restore killed: writes on the other replica accepted again after ${healedAfterMs} ms`);

    // No copy is left behind: the sidecar drops the scratch copy of a restore whose server went away, or the killed
    // replica's start-up recovery does.
    a = await startListening(configA);
    const leftovers = async () =>
      (
        await adminQuery<{ datname: string }>(`SELECT datname FROM pg_database WHERE datname LIKE $1`, [
          `${db.name}\\_%`,
        ])
      ).rows.map((r) => r.datname);
    await until(
      'no copy left behind',
      async () => ((await leftovers()).length === 0 ? true : undefined),
      60_000,
    );
    expect(await leftovers()).toEqual([]);
    expect(
      await adminQuery('SELECT 1 FROM users WHERE name = $1', [answers.at(-1)!.name], db.name),
    ).toMatchObject({
      rowCount: 1,
    });
  }, 120_000);
});
