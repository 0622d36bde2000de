// Attacks on the front door of a running server, each refused with a clear error and changing nothing: a tmp_admin
// hijack, spoofed X-Forwarded-For, a new-user flood from one address, a request signed for another server, escaped
// paths, removal of the last admin, a trickled body during a restore, and a revocation undone by a restore.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signRequest } from '../../client/signing';
import { createTestDatabase, type TestDatabase } from '../support/pg';
import { runClient, startListening, writeConfig, type ServerProcess } from '../support/server-process';

const ADMIN = 'owner@example.com';
const SQUATTED = 'boss@example.com';
const ROBOT = 'robot@example.com';
const READER = 'reader@example.com';

interface RawAnswer {
  status: number;
  body: string;
}

/** One request from a chosen loopback address (127.0.0.x are all this machine), path sent exactly as given. */
function rawRequest(
  url: string,
  o: { method?: string; path: string; from?: string; headers?: Record<string, string>; body?: string },
): Promise<RawAnswer> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: hostname,
        port,
        method: o.method ?? 'GET',
        path: o.path,
        headers: { ...(o.body === undefined ? {} : { 'content-type': 'application/json' }), ...o.headers },
        ...(o.from ? { localAddress: o.from } : {}),
      },
      (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end(o.body);
  });
}

const codeOf = (answer: RawAnswer) => (JSON.parse(answer.body) as { code?: string }).code;

describe('the front door of a running server', () => {
  let db: TestDatabase;
  let server: ServerProcess;
  let configPath: string;
  let base: string;
  let reloads = 0;
  const root = mkdtempSync(join(tmpdir(), 'bomnipotent-e2e-door-'));
  const backups = join(root, 'backups');
  const home = (who: string) => join(root, who);
  const as = (who: string, user: string, ...args: string[]) =>
    runClient(['-d', server.url, '-u', user, ...args], { XDG_CONFIG_HOME: home(who) });
  const request = (who: string, email: string) =>
    runClient(['-d', server.url, 'user', 'request', email], { XDG_CONFIG_HOME: home(who) });
  /** Writes base with its [dos_prevention] and top-level additions, plus extra tables, and waits for the outcome. */
  const reload = async (
    extra: string,
    o: { dos?: string; top?: string; perAddress?: number; bodyTimeout?: string } = {},
  ) => {
    const text = base
      .replace('body_timeout = "10 min"', `body_timeout = "${o.bodyTimeout ?? '10 min'}"`)
      .replace('new_user_limit_per_address = 20', `new_user_limit_per_address = ${o.perAddress ?? 20}`)
      .replace('[dos_prevention]\n', `[dos_prevention]\n${o.dos ?? ''}`)
      .replace('http_port = 0\n', `http_port = 0\n${o.top ?? ''}`);
    writeFileSync(configPath, text + extra);
    reloads += 1;
    await server.waitFor(
      new RegExp(`((successfully reloaded|Failed to reload)[\\s\\S]*){${reloads}}`),
      15_000,
    );
  };

  beforeAll(async () => {
    db = await createTestDatabase('e2e_door');
    base =
      `db_url = "${db.url}"\nhttp_port = 0\n` +
      `[[tasks]]\nname = "database_backup"\ndirectory = "${backups}"\nscheduled = false\n` +
      `[dos_prevention]\nbody_timeout = "10 min"\nnew_user_limit = 50\nnew_user_limit_per_address = 20\n`;
    configPath = writeConfig(base, root);
    server = await startListening(configPath);
  });
  afterAll(async () => {
    await server?.stop();
    await db?.drop();
    rmSync(root, { recursive: true, force: true });
  });

  it('listens on 127.0.0.1 only unless told otherwise', () => {
    expect(server.output()).toMatch(/Listening on http:\/\/127\.0\.0\.1:\d+/);
  });

  it('binds tmp_admin to a key: a squatter of the email gets nothing, the owner of the key gets the powers', async () => {
    // Someone else requested the email first; the owner names their own key, which the server does not hold.
    expect((await request('squatter', SQUATTED)).code).toBe(0);
    const mine = await request('owner-spare', 'spare@example.com');
    const spareFingerprint = /SHA256:[A-Za-z0-9+/]{43}/.exec(mine.stdout)?.[0];
    expect(spareFingerprint).toBeDefined();
    await reload(`[user]\ntmp_admin = "${SQUATTED}:${spareFingerprint}"\n`);
    expect(server.output()).toContain('holds no such key: someone else may have requested that name');
    const squatter = await as('squatter', SQUATTED, 'user', 'approve', SQUATTED);
    expect(squatter.code).toBe(1);
    expect(squatter.stderr).toContain('has not been approved yet');

    // The owner requests their account, and tmp_admin names the fingerprint the client printed.
    const owner = await request('owner', ADMIN);
    const fingerprint = /SHA256:[A-Za-z0-9+/]{43}/.exec(owner.stdout)?.[0];
    expect(owner.stdout).toContain(`tmp_admin = "${ADMIN}:${fingerprint}"`);
    await reload(`[user]\ntmp_admin = "${ADMIN}:${fingerprint}"\n`);
    expect((await as('owner', ADMIN, 'user', 'approve', ADMIN)).code).toBe(0);
    expect((await as('owner', ADMIN, 'user-role', 'add', ADMIN, 'admin')).code).toBe(0);
    await reload('');
    expect((await as('owner', ADMIN, 'whoami')).stdout).toContain(`treats you as '${ADMIN}'`);
  }, 120_000);

  it('refuses a request signed for another server', async () => {
    const secretKeyPem = readFileSync(join(home('owner'), 'bomnipotent', 'secret_key.pem'), 'utf8');
    const headers = signRequest({
      method: 'GET',
      baseUrl: 'https://other-server.example',
      pathAndQuery: '/who-am-i',
      user: ADMIN,
      body: '',
      secretKeyPem,
    });
    const answer = await rawRequest(server.url, { path: '/who-am-i', headers });
    expect(answer.status).toBe(401);
    expect(codeOf(answer)).toBe('AUTH.DOMAIN_MISMATCH');
  });

  it('refuses escaped and dotted paths, and fragments, instead of routing them to /metrics', async () => {
    expect((await rawRequest(server.url, { path: '/metrics' })).status).toBe(200);
    const paths = ['/%6detrics', '/%6Detrics', '/x/../metrics', '/./metrics', '/%2e%2e/metrics'];
    for (const path of [...paths, '/metrics#x', '/metrics?a=1#x', '/metrics#']) {
      const answer = await rawRequest(server.url, { path });
      expect(answer.status, path).toBe(400);
      expect(codeOf(answer), path).toBe('REQUEST.PATH_NOT_CANONICAL');
    }
  });

  it('refuses to take the admin role from, or deny, the last admin', async () => {
    const remove = await as('owner', ADMIN, 'user-role', 'remove', ADMIN, 'admin');
    expect(remove.code).toBe(1);
    expect(remove.stderr).toContain('no other approved admin with a valid key would remain');
    const deny = await as('owner', ADMIN, 'user', 'deny', ADMIN);
    expect(deny.code).toBe(1);
    expect(deny.stderr).toContain('no other approved admin');
    const revoke = await as('owner', ADMIN, 'user', 'revoke-key', ADMIN);
    expect(revoke.code).toBe(1);
    const me = await as('owner', ADMIN, '-o', 'raw', 'whoami');
    expect(JSON.parse(me.stdout)).toMatchObject({ isAdmin: true });
  }, 120_000);

  it('believes X-Forwarded-For only from trusted proxies, and gives each address its own new-user budget', async () => {
    await reload('', { dos: 'limit = 3\n' });
    // From an untrusted peer, a new X-Forwarded-For per request changes nothing: the peer's budget counts.
    const spoofed = [];
    for (let i = 0; i < 4; i++) {
      spoofed.push(
        await rawRequest(server.url, {
          path: '/health',
          from: '127.0.0.2',
          headers: { 'x-forwarded-for': `198.51.100.${i}` },
        }),
      );
    }
    expect(spoofed.map((a) => a.status)).toEqual([200, 200, 200, 429]);
    expect((await rawRequest(server.url, { path: '/health', from: '127.0.0.3' })).status).toBe(200);

    // Behind a trusted proxy, each client behind it has its own budget.
    await reload('', { dos: 'limit = 3\n', top: 'trusted_proxies = ["127.0.0.4/32"]\n' });
    const viaProxy = (client: string) =>
      rawRequest(server.url, { path: '/health', from: '127.0.0.4', headers: { 'x-forwarded-for': client } });
    for (let i = 0; i < 5; i++) expect((await viaProxy(`203.0.113.${i}`)).status).toBe(200);
    const one = [];
    for (let i = 0; i < 4; i++) one.push((await viaProxy('203.0.113.200')).status);
    expect(one).toEqual([200, 200, 200, 429]);

    await reload('', { perAddress: 3 });
    // One address may send only 3 new-user requests per period; others still can.
    const newUser = (from: string, n: number) =>
      rawRequest(server.url, {
        method: 'POST',
        path: '/users',
        from,
        body: JSON.stringify({ user: `flood${n}@example.com`, publicKey: 'x' }),
      });
    const flood = [];
    for (let i = 0; i < 4; i++) flood.push(await newUser('127.0.0.5', i));
    expect(flood.slice(0, 3).map((a) => a.status)).toEqual([400, 400, 400]); // counted, then refused as bad keys
    expect(flood[3]!.status).toBe(429);
    expect(codeOf(flood[3]!)).toBe('DOS.NEW_USER_LIMIT_ADDRESS');
    expect((await newUser('127.0.0.6', 9)).status).toBe(400); // not 429: the server-wide budget is not spent
    await reload('');
  });

  /** A POST whose body never completes: its answer so far, and a promise of the connection's end. */
  async function trickle(): Promise<{ answer(): string; closed: Promise<void>; destroy(): void }> {
    const { hostname, port } = new URL(server.url);
    const slow = connect(Number(port), hostname);
    let answer = '';
    slow.on('data', (chunk: Buffer) => (answer += chunk.toString()));
    slow.on('error', () => {});
    const closed = new Promise<void>((resolve) => slow.on('close', () => resolve()));
    await new Promise<void>((resolve) => slow.once('connect', () => resolve()));
    slow.write(
      `POST /users HTTP/1.1\r\nHost: ${hostname}:${port}\r\ncontent-type: application/json\r\n` +
        'content-length: 500\r\n\r\n{"user": "slow',
    );
    return { answer: () => answer, closed, destroy: () => slow.destroy() };
  }

  it('prepares: a robot and a reader are approved, backed up, then the robot revoked and the reader denied', async () => {
    for (const [who, email] of [
      ['robot', ROBOT],
      ['reader', READER],
    ] as const) {
      expect((await request(who, email)).code).toBe(0);
      expect((await as('owner', ADMIN, 'user', 'approve', email)).code).toBe(0);
      expect((await as(who, email, 'whoami')).code).toBe(0);
    }
    expect((await as('owner', ADMIN, 'database-backup', 'create')).code).toBe(0);
    expect((await as('owner', ADMIN, 'user', 'revoke-key', ROBOT)).code).toBe(0);
    expect((await as('owner', ADMIN, 'user', 'deny', READER)).code).toBe(0);
  }, 120_000);

  it('completes a restore while a client is still sending its body, and keeps the revocation and the denial', async () => {
    const slow = await trickle();
    const restored = await as('owner', ADMIN, 'database-backup', 'completely-restore');
    expect(restored.code, restored.stdout + restored.stderr).toBe(0);
    // The slow client is still connected and unanswered: the restore did not wait for it.
    expect(slow.answer()).toBe('');
    slow.destroy();
    await slow.closed;
    expect(server.output()).toMatch(
      /1 key revocation\(s\), 1 denial\(s\) and 0 role removal\(s\) made after the backup/,
    );

    const robot = await as('robot', ROBOT, 'whoami');
    expect(robot.code).toBe(1);
    expect(robot.stderr).toContain('has been revoked');
    const reader = await as('reader', READER, 'whoami');
    expect(reader.code).toBe(1);
    expect(reader.stderr).toContain('was denied');
  }, 120_000);

  it('answers a body that does not arrive within body_timeout with 408 and closes the connection', async () => {
    await reload('', { bodyTimeout: '2 s' });
    const slow = await trickle();
    await slow.closed;
    expect(slow.answer()).toMatch(/^HTTP\/1\.1 408/);
    expect(slow.answer()).toContain('REQUEST.BODY_TIMEOUT');
  });
});
