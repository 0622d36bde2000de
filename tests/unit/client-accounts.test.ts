// The account commands against msw: key pairs on disk, what is sent, the signature, the exact lines, the session file.
import { execFileSync } from 'node:child_process';
import { createPublicKey, generateKeyPairSync, verify } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { http, HttpResponse } from 'msw';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bodyDigest, canonicalString, parseTimestamp } from '../../handlers/accounts/canonical';
import { runClientProgram } from '../support/client-program';
import { BASE, mockServer } from '../support/msw-client';

const server = mockServer();

let home: string;
let configDir: string;
beforeEach(() => {
  home = mkdtempSync(join(tmpdir(), 'bomnipotent-client-accounts-'));
  configDir = join(home, 'bomnipotent');
});
afterEach(() => rmSync(home, { recursive: true, force: true }));

function run(...args: string[]) {
  return runClientProgram(home, [...args]);
}

/** Records POST /users bodies and answers like the server. */
function captureRequests(): { body: { user: string; publicKey: string; robot: boolean }; signed: boolean }[] {
  const seen: { body: { user: string; publicKey: string; robot: boolean }; signed: boolean }[] = [];
  server.use(
    http.post(`${BASE}/users`, async ({ request }) => {
      const body = (await request.json()) as { user: string; publicKey: string; robot: boolean };
      seen.push({ body, signed: request.headers.has('x-bomnipotent-signature') });
      return HttpResponse.json({ user: body.user, status: 'REQUESTED' }, { status: 201 });
    }),
  );
  return seen;
}

describe('user request', () => {
  it('makes a key pair in the config folder on first use, sends its public key unsigned, and reuses it', async () => {
    const seen = captureRequests();
    const first = await run('-d', BASE, 'user', 'request', 'alice@example.com');
    expect(first.exitCode).toBe(0);
    const secretPath = join(configDir, 'secret_key.pem');
    const publicPath = join(configDir, 'public_key.pem');
    expect(statSync(secretPath).mode & 0o777).toBe(0o600);
    expect(readFileSync(secretPath, 'utf8')).toContain('BEGIN PRIVATE KEY');
    const publicPem = readFileSync(publicPath, 'utf8');
    expect(createPublicKey(publicPem).asymmetricKeyType).toBe('ed25519');
    expect(first.stdout).toContain(`[INFO] Stored a new key pair: secret key '${secretPath}'`);
    expect(first.stdout).toContain("[INFO] Requested new user 'alice@example.com'");

    await run('-d', BASE, 'user', 'request', 'alice@example.com', '--robot');
    expect(seen.map((s) => s.body.publicKey)).toEqual([publicPem, publicPem]);
    expect(seen.map((s) => s.body.robot)).toEqual([false, true]);
    expect(seen.some((s) => s.signed)).toBe(false);
  });

  it('sends an existing public key made by openssl', async () => {
    const seen = captureRequests();
    const secret = join(home, 'ossl_secret.pem');
    const pub = join(home, 'ossl_public.pem');
    execFileSync('openssl', ['genpkey', '-algorithm', 'ed25519', '-out', secret]);
    execFileSync('openssl', ['pkey', '-in', secret, '-pubout', '-out', pub]);
    const result = await run('-d', BASE, 'user', 'request', 'bob@example.com', pub);
    expect(result.exitCode).toBe(0);
    expect(seen[0]?.body.publicKey).toBe(readFileSync(pub, 'utf8'));
    expect(existsSync(configDir)).toBe(false); // no pair of its own was made
  });

  it('refuses a secret key before anything is sent', async () => {
    const seen = captureRequests();
    const { privateKey } = generateKeyPairSync('ed25519', {
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
      publicKeyEncoding: { type: 'spki', format: 'pem' },
    });
    const secret = join(home, 'mine.pem');
    writeFileSync(secret, privateKey);
    const result = await run('-d', BASE, 'user', 'request', 'eve@example.com', secret);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain('holds a secret key');
    expect(seen).toHaveLength(0);
  });

  it('makes <path>_secret_key.pem and <path>_public_key.pem for a path that does not exist', async () => {
    const seen = captureRequests();
    const base = join(home, 'keys', 'robot');
    const result = await run('-d', BASE, 'user', 'request', 'ci@example.com', base, '--robot');
    expect(result.exitCode).toBe(0);
    expect(statSync(`${base}_secret_key.pem`).mode & 0o777).toBe(0o600);
    expect(seen[0]?.body.publicKey).toBe(readFileSync(`${base}_public_key.pem`, 'utf8'));
    expect(seen[0]?.body.robot).toBe(true);
  });

  it('prints the server refusal and exits 1', async () => {
    server.use(
      http.post(`${BASE}/users`, () =>
        HttpResponse.json(
          { code: 'USER.EXISTS', detail: "The user 'alice@example.com' already exists." },
          { status: 409 },
        ),
      ),
    );
    const result = await run('-d', BASE, 'user', 'request', 'alice@example.com');
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain("[ERROR] The user 'alice@example.com' already exists.");
  });
});

describe('signed commands', () => {
  function keyFiles() {
    const pair = generateKeyPairSync('ed25519', {
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
      publicKeyEncoding: { type: 'spki', format: 'pem' },
    });
    const secretPath = join(home, 'secret.pem');
    writeFileSync(secretPath, pair.privateKey, { mode: 0o600 });
    return { secretPath, publicKey: pair.publicKey };
  }

  /** Checks the signature the way the server does, and answers who-am-i. */
  function verifyingServer(publicKey: string, calls: string[]) {
    const check = async (request: Request) => {
      const url = new URL(request.url);
      const user = request.headers.get('x-bomnipotent-user') ?? '';
      const timestamp = request.headers.get('x-bomnipotent-timestamp') ?? '';
      const body = await request.text();
      const data = canonicalString({
        method: request.method,
        origin: request.headers.get('x-bomnipotent-domain') ?? '',
        nonce: request.headers.get('x-bomnipotent-nonce') ?? '',
        pathAndQuery: url.pathname + url.search,
        user,
        timestamp,
        bodySha256: bodyDigest(body),
      });
      const ok = verify(
        null,
        Buffer.from(data),
        publicKey,
        Buffer.from(request.headers.get('x-bomnipotent-signature') ?? '', 'base64'),
      );
      expect(Math.abs(parseTimestamp(timestamp)! - Date.now())).toBeLessThan(5000);
      calls.push(`${request.method} ${url.pathname} ${body} ${ok}`);
      return { ok, user };
    };
    server.use(
      http.get(`${BASE}/who-am-i`, async ({ request }) => {
        const { ok, user } = await check(request);
        return ok
          ? HttpResponse.json({ user, roles: [], permissions: [], isAdmin: false })
          : HttpResponse.json({ code: 'AUTH.SIGNATURE_INVALID', detail: 'bad' }, { status: 401 });
      }),
      http.post(`${BASE}/users/:user/:verb`, async ({ request }) => {
        await check(request);
        return HttpResponse.json({});
      }),
      http.delete(`${BASE}/users/:user/roles/:role`, async ({ request }) => {
        await check(request);
        return HttpResponse.json({});
      }),
    );
  }

  it('who-am-i and whoami print the exact line, with a signature the server can verify', async () => {
    const { secretPath, publicKey } = keyFiles();
    const calls: string[] = [];
    verifyingServer(publicKey, calls);
    const a = await run('-d', BASE, '-u', 'alice@example.com', '-s', secretPath, 'who-am-i');
    const b = await run('-d', BASE, '-u', 'alice@example.com', '-s', secretPath, 'whoami');
    expect(a.stdout).toBe(`[INFO] The server at ${BASE} treats you as 'alice@example.com'.\n`);
    expect(b.stdout).toBe(a.stdout);
    expect(calls).toEqual(['GET /who-am-i  true', 'GET /who-am-i  true']);
  });

  it('signs approve, deny and user-role with the path, and the body', async () => {
    const { secretPath, publicKey } = keyFiles();
    const calls: string[] = [];
    verifyingServer(publicKey, calls);
    const g = ['-d', BASE, '-u', 'um@example.com', '-s', secretPath];
    expect((await run(...g, 'user', 'approve', 'bob@example.com')).stdout).toBe(
      "[INFO] Approved user 'bob@example.com'.\n",
    );
    expect((await run(...g, 'user', 'deny', 'bob@example.com')).stdout).toBe(
      "[INFO] Denied user 'bob@example.com'.\n",
    );
    expect((await run(...g, 'user-role', 'add', 'bob@example.com', 'user_manager')).stdout).toBe(
      "[INFO] Added role 'user_manager' to user 'bob@example.com'.\n",
    );
    expect((await run(...g, 'user-role', 'remove', 'bob@example.com', 'user_manager')).stdout).toBe(
      "[INFO] Removed role 'user_manager' from user 'bob@example.com'.\n",
    );
    expect(calls).toEqual([
      'POST /users/bob%40example.com/approve  true',
      'POST /users/bob%40example.com/deny  true',
      'POST /users/bob%40example.com/roles {"role":"user_manager"} true',
      'DELETE /users/bob%40example.com/roles/user_manager  true',
    ]);
  });

  it('prints the user list as a table', async () => {
    server.use(
      http.get(`${BASE}/users`, () =>
        HttpResponse.json({
          users: [
            {
              user: 'a@example.com',
              status: 'APPROVED',
              kind: 'human',
              roles: ['admin'],
              keyExpiresAt: '2027-01-01T00:00:00.000Z',
              keys: [
                {
                  fingerprint: 'SHA256:old',
                  expiresAt: '2027-01-01T00:00:00.000Z',
                  revokedAt: '2026-02-01T00:00:00.000Z',
                },
                { fingerprint: 'SHA256:new', expiresAt: '2027-01-01T00:00:00.000Z', revokedAt: null },
              ],
            },
          ],
        }),
      ),
    );
    const { secretPath } = keyFiles();
    const result = await run('-d', BASE, '-u', 'a@example.com', '-s', secretPath, 'user', 'list');
    const lines = result.stdout.split('\n');
    expect(lines[1]).toMatch(/^a@example\.com\s+APPROVED\s+human\s+admin\s+SHA256:old revoked 2026-02-01/);
    expect(lines[2]).toMatch(/^\s+SHA256:new expires 2027-01-01/);
  });

  it('refuses a secret key that group or others can read, before anything is sent', async () => {
    const seen = captureRequests();
    const { secretPath } = keyFiles();
    chmodSync(secretPath, 0o644);
    const result = await run('-d', BASE, '-u', 'a@example.com', '-s', secretPath, 'who-am-i');
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain('can be read by group or others');
    expect(seen).toHaveLength(0);
  });

  it('revoke-key sends the fingerprint signed, and prints what was revoked', async () => {
    let body: unknown;
    server.use(
      http.post(`${BASE}/users/b%40example.com/revoke-key`, async ({ request }) => {
        body = await request.json();
        return HttpResponse.json({ user: 'b@example.com', revoked: ['SHA256:abc'] });
      }),
    );
    const { secretPath } = keyFiles();
    const result = await run(
      '-d',
      BASE,
      '-u',
      'a@example.com',
      '-s',
      secretPath,
      'user',
      'revoke-key',
      'b@example.com',
      'SHA256:abc',
    );
    expect(result.exitCode).toBe(0);
    expect(body).toEqual({ fingerprint: 'SHA256:abc' });
    expect(result.stdout).toContain("Revoked 1 key(s) of 'b@example.com': SHA256:abc.");
  });
});

describe('session', () => {
  it('login stores the given options with absolute paths, status prints them, logout removes them', async () => {
    const login = await run(
      '-d',
      BASE,
      '-u',
      'alice@example.com',
      '-s',
      'rel/secret.pem',
      '-l',
      'debug',
      'session',
      'login',
    );
    const path = join(configDir, 'session.toml');
    expect(login.stdout).toBe(`[INFO] Stored session data in '${path}'.\n`);
    const status = await run('session', 'status');
    expect(status.stdout).toContain(`domain = "${BASE}"`);
    expect(status.stdout).toContain(`secret_key = "${join(process.cwd(), 'rel/secret.pem')}"`);
    const json = JSON.parse((await run('session', 'status', 'json')).stdout) as Record<string, string>;
    expect(json).toEqual({
      domain: BASE,
      user: 'alice@example.com',
      secret_key: join(process.cwd(), 'rel/secret.pem'),
      log_level: 'debug',
    });
    await run('session', 'logout');
    expect(existsSync(path)).toBe(false);
    expect((await run('session', 'status')).stdout).toContain('No session data is stored');
  });

  it('is used by later calls, and options on a call override it', async () => {
    const other = 'http://other.test';
    server.use(
      http.get(`${BASE}/health`, () => HttpResponse.json({ status: 'healthy' })),
      http.get(`${other}/health`, () => HttpResponse.json({ status: 'healthy' })),
    );
    await run('-d', BASE, 'session', 'login');
    expect((await run('health')).stdout).toBe(`[INFO] The service at ${BASE} is healthy.\n`);
    expect((await run('-d', other, 'health')).stdout).toBe(`[INFO] The service at ${other} is healthy.\n`);
  });

  it('refuses a login without options and names a broken session file', async () => {
    expect((await run('session', 'login')).stderr).toContain('Nothing to store');
    await run('-d', BASE, 'session', 'login');
    writeFileSync(join(configDir, 'session.toml'), 'domain = \n');
    const result = await run('health');
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain('session.toml" is broken');
    await run('session', 'logout');
    expect(existsSync(join(configDir, 'session.toml'))).toBe(false);
  });
});
