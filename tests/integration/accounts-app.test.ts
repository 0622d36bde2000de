// The accounts routes and the signature check through app.request(), on a real migrated PostgreSQL database.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { checkTmpAdmin } from '../../runtime/auth/module';
import { MAX_BODY_BYTES } from '../../runtime/http/app';
import {
  newKeyPair,
  startAccountsHarness,
  type AccountsHarness,
  type KeyPair,
} from '../support/accounts-harness';
import { testConfig } from '../support/config-fixture';
import { keyFingerprint } from '../../handlers/accounts/fingerprint';

let h: AccountsHarness;
let admin: { user: string; key: KeyPair };
let manager: { user: string; key: KeyPair };
let plain: { user: string; key: KeyPair };
let n = 0;
const fresh = (prefix: string) => `${prefix}${++n}@example.com`;

async function codeOf(res: Response): Promise<string> {
  return ((await res.json()) as { code: string }).code;
}

/** POST /users/<plain>/roles with `body`, signed as `as`. */
function roleForPlain(body: { role: string }, as: { user: string; key: KeyPair }): Promise<Response> {
  return h.send('POST', `/users/${encodeURIComponent(plain.user)}/roles`, { as, body });
}

/** The response must be `status` with `code`, and the account tables must be exactly as before. */
async function expectRefused(call: () => Promise<Response>, status: number, code: string): Promise<void> {
  const before = await h.snapshot();
  const res = await call();
  expect(res.status).toBe(status);
  expect(await codeOf(res)).toBe(code);
  expect(await h.snapshot()).toBe(before);
}

beforeAll(async () => {
  h = await startAccountsHarness();
  admin = { user: 'root@example.com', key: await h.seedUser('root@example.com', { roles: ['admin'] }) };
  manager = {
    user: 'um@example.com',
    key: await h.seedUser('um@example.com', { roles: ['user_manager', 'role_manager'] }),
  };
  plain = { user: 'plain@example.com', key: await h.seedUser('plain@example.com') };
});
afterAll(async () => h.close());
beforeEach(() => {
  h.setConfig({});
  h.skew(0);
});

describe('user request', () => {
  it('stores a REQUESTED user with its key, expiring after expiration_period', async () => {
    h.setConfig({ user: { expirationPeriodMs: 10 * 86_400_000 } });
    const name = fresh('new');
    const res = await h.send('POST', '/users', {
      body: { user: name.toUpperCase(), publicKey: newKeyPair().publicKeyPem, robot: true },
    });
    expect(res.status).toBe(201);
    const { rows } = await h.db.query(
      `SELECT u.status, u.kind, k.expires_at - k.created_at AS validity FROM users u JOIN user_keys k ON k.user_name = u.name WHERE u.name = $1`,
      [name],
    );
    expect(rows).toEqual([{ status: 'REQUESTED', kind: 'robot', validity: { days: 10 } }]);
  });

  it('refuses an existing name, a secret key, a non-ed25519 key and malformed bodies, changing nothing', async () => {
    const send = (body: unknown) => () => h.send('POST', '/users', { body });
    await expectRefused(send({ user: plain.user, publicKey: newKeyPair().publicKeyPem }), 409, 'USER.EXISTS');
    await expectRefused(
      send({ user: fresh('s'), publicKey: newKeyPair().secretKeyPem }),
      400,
      'USER.SECRET_KEY_SENT',
    );
    await expectRefused(send({ user: fresh('s'), publicKey: 'not a key' }), 400, 'USER.KEY_INVALID');
    await expectRefused(send({ user: 'a b', publicKey: newKeyPair().publicKeyPem }), 400, 'REQUEST.INVALID');
    await expectRefused(send({ user: fresh('s') }), 400, 'REQUEST.INVALID');
    await expectRefused(send('{"user": '), 400, 'REQUEST.INVALID');
  });

  it('answers 413 to an oversized body and changes nothing', async () => {
    const big = { user: fresh('big'), publicKey: 'x'.repeat(MAX_BODY_BYTES + 10) };
    await expectRefused(() => h.send('POST', '/users', { body: big }), 413, 'REQUEST.TOO_LARGE');
  });

  it('refuses a request for the tmp_admin email while it is set', async () => {
    h.setConfig({ user: { tmpAdmin: plain.user } });
    await expectRefused(
      () => h.send('POST', '/users', { body: { user: plain.user, publicKey: newKeyPair().publicKeyPem } }),
      409,
      'USER.TMP_ADMIN_REQUEST',
    );
  });
});

describe('signed requests', () => {
  const approve = (target: string) => `/users/${encodeURIComponent(target)}/approve`;

  it('answers who-am-i for a valid signature', async () => {
    const res = await h.send('GET', '/who-am-i', { as: manager });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      user: manager.user,
      roles: ['role_manager', 'user_manager'],
      isAdmin: false,
    });
  });

  it('refuses every forged, stale or unauthorized request with 401 saying why, changing nothing', async () => {
    const target = fresh('t');
    await h.seedUser(target, { status: 'REQUESTED' });
    const stranger = newKeyPair();
    const cases: [string, () => Promise<Response>, string][] = [
      ['no signature', () => h.send('POST', approve(target)), 'AUTH.SIGNATURE_MISSING'],
      [
        'incomplete headers',
        () => h.send('POST', approve(target), { headers: { 'x-bomnipotent-user': manager.user } }),
        'AUTH.SIGNATURE_INCOMPLETE',
      ],
      [
        'bad signature',
        () =>
          h.send('POST', approve(target), {
            as: manager,
            headers: { 'x-bomnipotent-signature': Buffer.alloc(64, 7).toString('base64') },
          }),
        'AUTH.SIGNATURE_INVALID',
      ],
      [
        'key of another user',
        () => h.send('POST', approve(target), { as: { user: manager.user, key: plain.key } }),
        'AUTH.SIGNATURE_INVALID',
      ],
      [
        'unknown key',
        () => h.send('POST', approve(target), { as: { user: manager.user, key: stranger } }),
        'AUTH.SIGNATURE_INVALID',
      ],
      [
        'unknown user',
        () => h.send('POST', approve(target), { as: { user: 'ghost@example.com', key: stranger } }),
        'AUTH.SIGNATURE_INVALID',
      ],
      [
        'tampered path',
        () => h.send('POST', approve(target), { as: manager, signedPath: approve(plain.user) }),
        'AUTH.SIGNATURE_INVALID',
      ],
      [
        'tampered query',
        () => h.send('POST', approve(target) + '?x=2', { as: manager, signedPath: approve(target) + '?x=1' }),
        'AUTH.SIGNATURE_INVALID',
      ],
      [
        'tampered body',
        () =>
          h.send('POST', `/users/${encodeURIComponent(target)}/roles`, {
            as: manager,
            body: { role: 'user_manager' },
            signedBody: { role: 'bom_manager' },
          }),
        'AUTH.SIGNATURE_INVALID',
      ],
      [
        'timestamp from the past',
        () => h.send('POST', approve(target), { as: manager, now: new Date(Date.now() - 6 * 60_000) }),
        'AUTH.TIMESTAMP_EXPIRED',
      ],
      [
        'timestamp from the future',
        () => h.send('POST', approve(target), { as: manager, now: new Date(Date.now() + 6 * 60_000) }),
        'AUTH.TIMESTAMP_FUTURE',
      ],
      [
        'garbage timestamp',
        () =>
          h.send('POST', approve(target), {
            as: manager,
            headers: { 'x-bomnipotent-timestamp': 'yesterday' },
          }),
        'AUTH.TIMESTAMP_INVALID',
      ],
    ];
    for (const [label, call, code] of cases) {
      const before = await h.snapshot();
      const res = await call();
      expect({ label, status: res.status, code: await codeOf(res) }).toEqual({ label, status: 401, code });
      expect(await h.snapshot()).toBe(before);
    }
  });

  it('refuses expired and revoked keys, and DENIED or REQUESTED users', async () => {
    const target = fresh('t');
    await h.seedUser(target, { status: 'REQUESTED' });
    const expired = { user: fresh('exp'), key: newKeyPair() };
    await h.seedUser(expired.user, {
      roles: ['user_manager'],
      key: expired.key,
      expiresAt: new Date(Date.now() - 1000),
    });
    const revoked = { user: fresh('rev'), key: newKeyPair() };
    await h.seedUser(revoked.user, { roles: ['user_manager'], key: revoked.key, revoked: true });
    const denied = { user: fresh('den'), key: newKeyPair() };
    await h.seedUser(denied.user, { status: 'DENIED', roles: ['user_manager'], key: denied.key });
    const requested = { user: fresh('req'), key: newKeyPair() };
    await h.seedUser(requested.user, { status: 'REQUESTED', roles: ['user_manager'], key: requested.key });
    await expectRefused(() => h.send('POST', approve(target), { as: expired }), 401, 'AUTH.KEY_EXPIRED');
    await expectRefused(() => h.send('POST', approve(target), { as: revoked }), 401, 'AUTH.KEY_REVOKED');
    await expectRefused(() => h.send('POST', approve(target), { as: denied }), 401, 'AUTH.USER_DENIED');
    await expectRefused(
      () => h.send('POST', approve(target), { as: requested }),
      401,
      'AUTH.USER_NOT_APPROVED',
    );
  });

  it('refuses a replayed request, also on another replica of the same database', async () => {
    const target = fresh('t');
    await h.seedUser(target);
    const headers = {
      ...(await signedHeaders('POST', `/users/${encodeURIComponent(target)}/roles`, { role: 'bom_manager' })),
    };
    const send = (app = h.app) =>
      app.request(`/users/${encodeURIComponent(target)}/roles`, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json' },
        body: JSON.stringify({ role: 'bom_manager' }),
      });
    expect((await send()).status).toBe(200);
    // Take the role away again: a replay must not bring it back.
    expect(
      (await h.send('DELETE', `/users/${encodeURIComponent(target)}/roles/bom_manager`, { as: manager }))
        .status,
    ).toBe(200);
    await expectRefused(async () => send(), 401, 'AUTH.REPLAYED');
    await expectRefused(async () => send(h.newApp()), 401, 'AUTH.REPLAYED');
  });

  it('prunes remembered signatures whose window has passed', async () => {
    await h.db.query(
      `INSERT INTO seen_signatures (digest, expires_at) VALUES ('old', now() - interval '1 hour')`,
    );
    expect((await h.send('GET', '/who-am-i', { as: manager }, h.newApp())).status).toBe(200);
    const { rows } = await h.db.query(`SELECT digest FROM seen_signatures WHERE expires_at < now()`);
    expect(rows).toEqual([]);
    expect((await h.db.query('SELECT count(*)::int AS n FROM seen_signatures')).rows[0]?.n).toBeGreaterThan(
      0,
    );
  });

  async function signedHeaders(method: string, path: string, body: unknown): Promise<Record<string, string>> {
    const { signRequest } = await import('../../client/signing');
    return signRequest({
      method,
      baseUrl: 'http://localhost',
      pathAndQuery: path,
      user: manager.user,
      body: JSON.stringify(body),
      secretKeyPem: manager.key.secretKeyPem,
    });
  }

  it('answers 403 to a valid user without the permission, changing nothing', async () => {
    const target = fresh('t');
    await h.seedUser(target, { status: 'REQUESTED' });
    await expectRefused(() => h.send('POST', approve(target), { as: plain }), 403, 'AUTH.FORBIDDEN');
    await expectRefused(() => h.send('GET', '/users', { as: plain }), 403, 'AUTH.FORBIDDEN');
    await expectRefused(
      () =>
        h.send('POST', `/users/${encodeURIComponent(target)}/roles`, {
          as: plain,
          body: { role: 'bom_manager' },
        }),
      403,
      'AUTH.FORBIDDEN',
    );
  });

  it('answers 400 to a malformed role body from an authorized user, changing nothing', async () => {
    await expectRefused(() => roleForPlain({ role: 'no spaces' }, manager), 400, 'REQUEST.INVALID');
    await expectRefused(() => roleForPlain({ role: 'nope' }, manager), 404, 'ROLE.UNKNOWN');
  });
});

describe('user management', () => {
  it('lets a user manager approve, deny and list', async () => {
    const target = fresh('t');
    await h.seedUser(target, { status: 'REQUESTED' });
    expect(
      (await h.send('POST', `/users/${encodeURIComponent(target)}/approve`, { as: manager })).status,
    ).toBe(200);
    const list = (await (await h.send('GET', '/users', { as: manager })).json()) as {
      users: { user: string; status: string }[];
    };
    expect(list.users.find((u) => u.user === target)?.status).toBe('APPROVED');
    expect((await h.send('POST', `/users/${encodeURIComponent(target)}/deny`, { as: manager })).status).toBe(
      200,
    );
    const { rows } = await h.db.query('SELECT status FROM users WHERE name = $1', [target]);
    expect(rows[0]?.status).toBe('DENIED');
  });

  it('lets only an admin give or take the admin role, or change an admin', async () => {
    const target = fresh('t');
    await h.seedUser(target);
    const roles = `/users/${encodeURIComponent(target)}/roles`;
    await expectRefused(
      () => h.send('POST', roles, { as: manager, body: { role: 'admin' } }),
      403,
      'ROLE.ADMIN_ONLY',
    );
    await expectRefused(
      () => h.send('POST', `/users/${encodeURIComponent(admin.user)}/deny`, { as: manager }),
      403,
      'USER.ADMIN_PROTECTED',
    );
    expect((await h.send('POST', roles, { as: admin, body: { role: 'admin' } })).status).toBe(200);
    await expectRefused(() => h.send('DELETE', `${roles}/admin`, { as: manager }), 403, 'ROLE.ADMIN_ONLY');
    expect((await h.send('DELETE', `${roles}/admin`, { as: admin })).status).toBe(200);
    expect((await h.db.query('SELECT * FROM user_roles WHERE user_name = $1', [target])).rows).toEqual([]);
  });

  it('gives a role manager the permissions of a role it adds', async () => {
    const target = { user: fresh('t'), key: newKeyPair() };
    await h.seedUser(target.user, { key: target.key });
    expect((await h.send('GET', '/users', { as: target })).status).toBe(403);
    expect(
      (
        await h.send('POST', `/users/${encodeURIComponent(target.user)}/roles`, {
          as: manager,
          body: { role: 'user_manager' },
        })
      ).status,
    ).toBe(200);
    expect((await h.send('GET', '/users', { as: target })).status).toBe(200);
  });
});

describe('tmp_admin', () => {
  it('lets a REQUESTED tmp_admin approve themself and take the admin role, warning on each use', async () => {
    const boss = { user: fresh('boss'), key: newKeyPair() };
    expect(
      (await h.send('POST', '/users', { body: { user: boss.user, publicKey: boss.key.publicKeyPem } }))
        .status,
    ).toBe(201);
    expect((await h.send('GET', '/who-am-i', { as: boss })).status).toBe(401); // not approved, not tmp_admin yet
    const tmpAdminKey = keyFingerprint(boss.key.publicKeyPem);
    await checkTmpAdmin(testConfig({ user: { tmpAdmin: boss.user, tmpAdminKey } }), h.db);
    h.setConfig({ user: { tmpAdmin: boss.user.toUpperCase(), tmpAdminKey } });
    h.warnings.length = 0;
    expect(
      (await h.send('POST', `/users/${encodeURIComponent(boss.user)}/approve`, { as: boss })).status,
    ).toBe(200);
    expect(
      (
        await h.send('POST', `/users/${encodeURIComponent(boss.user)}/roles`, {
          as: boss,
          body: { role: 'admin' },
        })
      ).status,
    ).toBe(200);
    expect(h.warnings.filter((l) => l.includes('[WARN]') && l.includes('tmp_admin'))).toHaveLength(2);
    h.setConfig({});
    const me = (await (await h.send('GET', '/who-am-i', { as: boss })).json()) as { isAdmin: boolean };
    expect(me.isAdmin).toBe(true);
  });

  it('still needs the tmp_admin to sign with their own key', async () => {
    h.setConfig({ user: { tmpAdmin: plain.user, tmpAdminKey: keyFingerprint(plain.key.publicKeyPem) } });
    await expectRefused(
      () => roleForPlain({ role: 'admin' }, { user: plain.user, key: newKeyPair() }),
      401,
      'AUTH.SIGNATURE_INVALID',
    );
  });

  it('fails the config check for a tmp_admin that is no user, naming it and the fix', async () => {
    await expect(
      checkTmpAdmin(testConfig({ user: { tmpAdmin: 'nobody@example.com' } }), h.db),
    ).rejects.toMatchObject({
      code: 'CONFIG.TMP_ADMIN_UNKNOWN',
      kind: 'misconfigured',
      message: expect.stringContaining('nobody@example.com'),
      suggestion: expect.stringContaining('user request nobody@example.com'),
    });
    await expect(checkTmpAdmin(testConfig(), h.db)).resolves.toBeUndefined();
  });
});

describe('no user list through the front door', () => {
  it('an unknown user and a known user with a wrong key get the same status and the same body', async () => {
    const stranger = newKeyPair();
    const ghost = 'ghost-of-plain@example.com';
    const answer = async (user: string) => {
      const res = await h.send('GET', '/who-am-i', { as: { user, key: stranger } });
      return { status: res.status, body: (await res.text()).replaceAll(user, '<user>') };
    };
    const known = await answer(plain.user);
    const unknown = await answer(ghost);
    expect(unknown).toEqual(known);
    expect(known.status).toBe(401);
    expect(known.body).toContain('AUTH.SIGNATURE_INVALID');
  });
});

describe('DoS prevention', () => {
  it('blocks a source over the limit for an hour, and leaves other sources alone', async () => {
    h.setConfig({ dosPrevention: { limit: 3, periodMs: 1000 } });
    const app = h.newApp();
    for (let i = 0; i < 3; i++)
      expect((await h.send('GET', '/health', { address: '10.0.0.1' }, app)).status).toBe(200);
    const refused = await h.send('GET', '/health', { address: '10.0.0.1' }, app);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(3500);
    h.skew(30 * 60_000); // half an hour later, several periods on: still blocked
    expect((await h.send('GET', '/health', { address: '10.0.0.1' }, app)).status).toBe(429);
    expect((await h.send('GET', '/health', { address: '10.0.0.2' }, app)).status).toBe(200);
    h.skew(61 * 60_000);
    expect((await h.send('GET', '/health', { address: '10.0.0.1' }, app)).status).toBe(200);
  });

  it('limits new-user requests globally, across addresses, changing nothing once over', async () => {
    h.setConfig({ dosPrevention: { newUserLimit: 2 } });
    const app = h.newApp();
    for (let i = 0; i < 2; i++) {
      const res = await h.send(
        'POST',
        '/users',
        { body: { user: fresh('dos'), publicKey: newKeyPair().publicKeyPem }, address: `10.1.0.${i}` },
        app,
      );
      expect(res.status).toBe(201);
    }
    await expectRefused(
      () =>
        h.send(
          'POST',
          '/users',
          { body: { user: fresh('dos'), publicKey: newKeyPair().publicKeyPem }, address: '10.1.0.9' },
          app,
        ),
      429,
      'DOS.NEW_USER_LIMIT',
    );
  });

  it('refused new-user requests (bad key, name taken, bad body) do not spend the server-wide budget', async () => {
    h.setConfig({ dosPrevention: { newUserLimit: 2 } });
    const app = h.newApp();
    const refused = [
      { user: fresh('dos'), publicKey: 'not a key' },
      { user: plain.user, publicKey: newKeyPair().publicKeyPem },
      { user: 'not an email', publicKey: newKeyPair().publicKeyPem },
    ];
    for (const [i, body] of refused.entries()) {
      const res = await h.send('POST', '/users', { body, address: `10.2.0.${i}` }, app);
      expect([400, 409]).toContain(res.status);
    }
    for (let i = 0; i < 2; i++) {
      const body = { user: fresh('dos'), publicKey: newKeyPair().publicKeyPem };
      const res = await h.send('POST', '/users', { body, address: `10.2.1.${i}` }, app);
      expect(res.status).toBe(201);
    }
    const over = { user: fresh('dos'), publicKey: newKeyPair().publicKeyPem };
    const res = await h.send('POST', '/users', { body: over, address: '10.2.1.9' }, app);
    expect([res.status, await codeOf(res)]).toEqual([429, 'DOS.NEW_USER_LIMIT']);
  });
});
