// tmp_admin bound to a key, key revocation, the last-admin guard and the key list, through app.request() on a real
// migrated database; every refusal changes nothing.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { keyFingerprint } from '../../handlers/accounts/fingerprint';
import { checkTmpAdmin } from '../../runtime/auth/module';
import { createAccountStore } from '../../runtime/db/accounts-store';
import {
  newKeyPair,
  startAccountsHarness,
  type AccountsHarness,
  type KeyPair,
} from '../support/accounts-harness';
import { testConfig } from '../support/config-fixture';

let h: AccountsHarness;
let admin: { user: string; key: KeyPair };
let manager: { user: string; key: KeyPair };
let n = 0;
const fresh = (prefix: string) => `${prefix}${++n}@example.com`;

async function expectRefused(call: () => Promise<Response>, status: number, code: string): Promise<void> {
  const before = await h.snapshot();
  const res = await call();
  expect(res.status).toBe(status);
  expect(((await res.json()) as { code: string }).code).toBe(code);
  expect(await h.snapshot()).toBe(before);
}

const addKey = (user: string, key: KeyPair) =>
  h.db.query(
    `INSERT INTO user_keys (user_name, public_key, created_at, expires_at) VALUES ($1, $2, now(), now() + interval '1 day')`,
    [user, key.publicKeyPem],
  );

beforeAll(async () => {
  h = await startAccountsHarness();
  admin = { user: 'root@example.com', key: await h.seedUser('root@example.com', { roles: ['admin'] }) };
  manager = { user: 'um@example.com', key: await h.seedUser('um@example.com', { roles: ['user_manager'] }) };
});
afterAll(async () => h.close());
beforeEach(() => h.setConfig({}));

describe('tmp_admin bound to a key', () => {
  it('gives the powers only to the named key, and the request answer carries that fingerprint', async () => {
    const boss = { user: fresh('boss'), key: newKeyPair() };
    const res = await h.send('POST', '/users', {
      body: { user: boss.user, publicKey: boss.key.publicKeyPem },
    });
    const fingerprint = ((await res.json()) as { keyFingerprint: string }).keyFingerprint;
    expect(fingerprint).toBe(keyFingerprint(boss.key.publicKeyPem));
    await checkTmpAdmin(testConfig({ user: { tmpAdmin: boss.user, tmpAdminKey: fingerprint } }), h.db);
    h.setConfig({ user: { tmpAdmin: boss.user, tmpAdminKey: fingerprint } });
    expect((await h.send('GET', '/who-am-i', { as: boss })).status).toBe(200);

    // A second key on the account (as a squatter might hold) is not the named one: no powers for it.
    const other = newKeyPair();
    await addKey(boss.user, other);
    await expectRefused(
      () =>
        h.send('POST', `/users/${encodeURIComponent(boss.user)}/approve`, {
          as: { user: boss.user, key: other },
        }),
      401,
      'AUTH.USER_NOT_APPROVED',
    );
  });

  it('refuses the plain email form, even for the first and only key of that user, at the check and per request', async () => {
    // Whoever requested the name first holds its only key: a name alone would make them admin.
    const squatter = { user: fresh('first'), key: newKeyPair() };
    await h.seedUser(squatter.user, { status: 'REQUESTED', key: squatter.key });
    await expect(
      checkTmpAdmin(testConfig({ user: { tmpAdmin: squatter.user } }), h.db),
    ).rejects.toMatchObject({
      code: 'CONFIG.TMP_ADMIN_UNKNOWN',
      message: expect.stringContaining('not a key'),
    });
    h.setConfig({ user: { tmpAdmin: squatter.user } });
    await expectRefused(
      () => h.send('POST', `/users/${encodeURIComponent(squatter.user)}/approve`, { as: squatter }),
      401,
      'AUTH.USER_NOT_APPROVED',
    );
  });

  it('never gives a DENIED user the powers, and the check refuses to name one', async () => {
    const denied = { user: fresh('denied'), key: newKeyPair() };
    await h.seedUser(denied.user, { status: 'DENIED', key: denied.key });
    const named = { tmpAdmin: denied.user, tmpAdminKey: keyFingerprint(denied.key.publicKeyPem) };
    await expect(checkTmpAdmin(testConfig({ user: named }), h.db)).rejects.toMatchObject({
      message: expect.stringContaining('was denied'),
    });
    h.setConfig({ user: { tmpAdmin: denied.user, tmpAdminKey: keyFingerprint(denied.key.publicKeyPem) } });
    await expectRefused(
      () => h.send('POST', `/users/${encodeURIComponent(denied.user)}/approve`, { as: denied }),
      401,
      'AUTH.USER_DENIED',
    );
  });

  it('refuses a configured fingerprint the user does not hold, naming the ones it does', async () => {
    const user = fresh('squat');
    const squatter = await h.seedUser(user, { status: 'REQUESTED' });
    const mine = keyFingerprint(newKeyPair().publicKeyPem);
    await expect(
      checkTmpAdmin(testConfig({ user: { tmpAdmin: user, tmpAdminKey: mine } }), h.db),
    ).rejects.toMatchObject({
      message: expect.stringContaining('someone else may have requested that name'),
      suggestion: expect.stringContaining(keyFingerprint(squatter.publicKeyPem)),
    });
  });
});

describe('user revoke-key and user list', () => {
  it('revokes one key by fingerprint; the key is then refused and listed as revoked', async () => {
    const user = fresh('bot');
    const first = await h.seedUser(user);
    const second = newKeyPair();
    await addKey(user, second);
    const res = await h.send('POST', `/users/${encodeURIComponent(user)}/revoke-key`, {
      as: manager,
      body: { fingerprint: keyFingerprint(first.publicKeyPem) },
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ user, revoked: [keyFingerprint(first.publicKeyPem)] });
    expect(await (await h.send('GET', '/who-am-i', { as: { user, key: first } })).json()).toMatchObject({
      code: 'AUTH.KEY_REVOKED',
    });
    expect((await h.send('GET', '/who-am-i', { as: { user, key: second } })).status).toBe(200);

    const list = (await (await h.send('GET', '/users', { as: manager })).json()) as {
      users: { user: string; keys: { fingerprint: string; revokedAt: string | null }[] }[];
    };
    const keys = list.users.find((u) => u.user === user)!.keys;
    expect(keys.map((k) => [k.fingerprint, k.revokedAt !== null])).toEqual([
      [keyFingerprint(first.publicKeyPem), true],
      [keyFingerprint(second.publicKeyPem), false],
    ]);
  });

  it('refuses an unknown fingerprint, a non-admin revoking an admin, and anonymous callers, changing nothing', async () => {
    const user = fresh('k');
    await h.seedUser(user);
    const path = `/users/${encodeURIComponent(user)}/revoke-key`;
    const other = keyFingerprint(newKeyPair().publicKeyPem);
    await expectRefused(
      () => h.send('POST', path, { as: manager, body: { fingerprint: other } }),
      404,
      'KEY.UNKNOWN',
    );
    await expectRefused(() => h.send('POST', path, { body: {} }), 401, 'AUTH.SIGNATURE_MISSING');
    await expectRefused(
      () => h.send('POST', `/users/${encodeURIComponent(admin.user)}/revoke-key`, { as: manager }),
      403,
      'USER.ADMIN_PROTECTED',
    );
  });
});

describe('the last admin', () => {
  it('cannot lose the admin role, be denied or lose their last key; with a second admin they can', async () => {
    const self = `/users/${encodeURIComponent(admin.user)}`;
    await expectRefused(() => h.send('DELETE', `${self}/roles/admin`, { as: admin }), 409, 'USER.LAST_ADMIN');
    await expectRefused(() => h.send('POST', `${self}/deny`, { as: admin }), 409, 'USER.LAST_ADMIN');
    await expectRefused(() => h.send('POST', `${self}/revoke-key`, { as: admin }), 409, 'USER.LAST_ADMIN');

    const second = { user: fresh('admin'), key: await h.seedUser(fresh('x'), {}) };
    await h.seedUser(second.user, { roles: ['admin'], key: second.key });
    expect(
      (await h.send('DELETE', `/users/${encodeURIComponent(second.user)}/roles/admin`, { as: admin })).status,
    ).toBe(200);
  });

  it('holds under concurrent removals: of two admins removing each other, one stays', async () => {
    const a = { user: fresh('a'), key: newKeyPair() };
    const b = { user: fresh('b'), key: newKeyPair() };
    await h.seedUser(a.user, { roles: ['admin'], key: a.key });
    await h.seedUser(b.user, { roles: ['admin'], key: b.key });
    // root is an admin too: take it out of the picture first so that a and b are the last two.
    await h.db.query(`DELETE FROM user_roles WHERE role = 'admin' AND user_name NOT IN ($1, $2)`, [
      a.user,
      b.user,
    ]);
    const answers = await Promise.all([
      h.send('DELETE', `/users/${encodeURIComponent(b.user)}/roles/admin`, { as: a }),
      h.send('DELETE', `/users/${encodeURIComponent(a.user)}/roles/admin`, { as: b }),
    ]);
    // The loser is refused either by the guard (409) or, if the winner committed first, as no admin any more (403).
    const statuses = answers.map((r) => r.status).sort();
    expect(statuses[0]).toBe(200);
    expect([403, 409]).toContain(statuses[1]);
    const count = async () =>
      (await h.db.query(`SELECT count(*)::int AS n FROM user_roles WHERE role = 'admin'`)).rows[0]
        ?.n as number;
    expect(await count()).toBe(1);

    // Straight at the store, both removals race inside the database: the lock lets exactly one through.
    const store = createAccountStore(h.db);
    await h.db.query(
      `INSERT INTO user_roles (user_name, role) VALUES ($1, 'admin'), ($2, 'admin') ON CONFLICT DO NOTHING`,
      [a.user, b.user],
    );
    const outcomes = await Promise.all([
      store.removeRole(a.user, 'admin'),
      store.removeRole(b.user, 'admin'),
    ]);
    expect(outcomes.sort()).toEqual(['changed', 'last_admin']);
    expect(await count()).toBe(1);
  });
});
