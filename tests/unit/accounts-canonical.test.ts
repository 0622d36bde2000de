// The canonical string both sides sign, the timestamp formats, and a client signature the server's check accepts.
import { createHash, generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { authenticateRequest } from '../../handlers/accounts/authenticate';
import { bodyDigest, canonicalString, parseTimestamp } from '../../handlers/accounts/canonical';
import type { AccountDeps } from '../../handlers/accounts/deps';
import type { AccountStore } from '../../handlers/ports/account-store';
import { signRequest } from '../../client/signing';
import { silentLogger } from '../../runtime/observability/logger';

describe('canonicalString', () => {
  it('joins scheme, method, origin, path and query, user, timestamp, nonce and body digest with newlines', () => {
    const s = canonicalString({
      method: 'post',
      origin: 'https://bom.example',
      nonce: 'AAAAAAAAAAAAAAAAAAAAAA',
      pathAndQuery: '/users/a%40b.com/approve?x=1',
      user: 'a@b.com',
      timestamp: '2026-01-11T10:30:24.000Z',
      bodySha256: bodyDigest(''),
    });
    expect(s).toBe(
      [
        'BOMNIPOTENT-ED25519-V2',
        'POST',
        'https://bom.example',
        '/users/a%40b.com/approve?x=1',
        'a@b.com',
        '2026-01-11T10:30:24.000Z',
        'AAAAAAAAAAAAAAAAAAAAAA',
        'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
      ].join('\n'),
    );
    expect(bodyDigest('{"a":1}')).toBe(createHash('sha256').update('{"a":1}').digest('hex'));
  });

  it('parses RFC 3339 and epoch milliseconds, and nothing else', () => {
    expect(parseTimestamp('2026-01-11T10:30:24Z')).toBe(Date.UTC(2026, 0, 11, 10, 30, 24));
    expect(parseTimestamp('2026-01-11T11:30:24.5+01:00')).toBe(Date.UTC(2026, 0, 11, 10, 30, 24, 500));
    expect(parseTimestamp('1768127424000')).toBe(1768127424000);
    for (const bad of ['yesterday', '2026-01-11', 'Sun, 11 Jan 2026 10:30:24 GMT', '', '-5'])
      expect(parseTimestamp(bad)).toBeNull();
  });
});

describe('signRequest and authenticateRequest', () => {
  const pair = generateKeyPairSync('ed25519', {
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  const now = new Date('2026-01-11T10:30:24Z');
  const remembered = new Set<string>();
  const store = {
    findUser: async (name: string) =>
      name === 'a@b.com' ? { name, status: 'APPROVED', kind: 'human', createdAt: now, updatedAt: now } : null,
    keysOf: async () => [
      {
        id: 1,
        publicKeyPem: pair.publicKey,
        createdAt: now,
        expiresAt: new Date(now.getTime() + 1000),
        revokedAt: null,
      },
    ],
    rolesOf: async () => ['user_manager'],
    permissionsOf: async () => ['USER_MANAGEMENT'],
    rememberSignature: async (digest: string) =>
      remembered.has(digest) ? false : (remembered.add(digest), true),
  } as unknown as AccountStore;
  const deps: AccountDeps = {
    store,
    clock: { now: () => now },
    logger: silentLogger(),
    settings: () => ({
      tmpAdmin: undefined,
      tmpAdminKey: undefined,
      origin: 'https://bom.example',
      expirationPeriodMs: 1000,
      signatureWindowMs: 300_000,
    }),
  };
  const signed = (pathAndQuery: string, body: string) => {
    const h = signRequest({
      method: 'POST',
      baseUrl: 'https://BOM.example:443/',
      pathAndQuery,
      user: 'A@b.com',
      body,
      secretKeyPem: pair.privateKey,
      now,
    });
    return {
      method: 'POST',
      user: h['x-bomnipotent-user'],
      timestamp: h['x-bomnipotent-timestamp'],
      signature: h['x-bomnipotent-signature'],
      domain: h['x-bomnipotent-domain'],
      nonce: h['x-bomnipotent-nonce'],
      host: 'bom.example',
    };
  };

  it('accepts the client signature, normalizing the user name, and turns it into a principal', async () => {
    const headers = signed('/users/x%40y.com/approve', '{"a":1}');
    const principal = await authenticateRequest(
      { ...headers, pathAndQuery: '/users/x%40y.com/approve', body: new TextEncoder().encode('{"a":1}') },
      deps,
    );
    expect(principal).toMatchObject({ name: 'a@b.com', roles: ['user_manager'], isAdmin: false });
    expect([...principal!.permissions]).toEqual(['USER_MANAGEMENT']);
  });

  it('signs the path as fetch sends it (WHATWG-normalized)', async () => {
    const headers = signed('/users/a b/approve', '');
    await expect(
      authenticateRequest({ ...headers, pathAndQuery: '/users/a%20b/approve', body: new Uint8Array() }, deps),
    ).resolves.toBeDefined();
  });

  it('gives two identical requests in the same millisecond different signatures (a random nonce)', async () => {
    const one = signed('/database-backup', '');
    const two = signed('/database-backup', '');
    expect(one.signature).not.toBe(two.signature);
    for (const headers of [one, two]) {
      await expect(
        authenticateRequest({ ...headers, pathAndQuery: '/database-backup', body: new Uint8Array() }, deps),
      ).resolves.toBeDefined();
    }
  });

  it('refuses a signature made for another server, and one without the V2 headers', async () => {
    const headers = signed('/who-am-i', '');
    const elsewhere = {
      ...headers,
      domain: 'https://other.example',
      pathAndQuery: '/who-am-i',
      body: new Uint8Array(),
    };
    await expect(authenticateRequest(elsewhere, deps)).rejects.toMatchObject({
      code: 'AUTH.DOMAIN_MISMATCH',
    });
    const old = {
      ...headers,
      domain: undefined,
      nonce: undefined,
      pathAndQuery: '/who-am-i',
      body: new Uint8Array(),
    };
    await expect(authenticateRequest(old, deps)).rejects.toMatchObject({ code: 'AUTH.SIGNATURE_VERSION' });
  });

  it('passes requests without any signature header through as anonymous', async () => {
    await expect(
      authenticateRequest(
        {
          method: 'GET',
          pathAndQuery: '/',
          user: undefined,
          timestamp: undefined,
          signature: undefined,
          domain: undefined,
          nonce: undefined,
          host: 'bom.example',
          body: new Uint8Array(),
        },
        deps,
      ),
    ).resolves.toBeUndefined();
  });
});
