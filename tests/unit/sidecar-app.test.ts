// The sidecar app at its HTTP edge (app.request): token, directory, file names, routes, body limit, the answer stream.
import { describe, it, expect } from 'vitest';
import { AppError } from '../../handlers/errors';
import type { BackupMetadataSeed, CatalogEntry } from '../../handlers/backup/model';
import type { BackupManifest } from '../../handlers/backup/manifest';
import { silentLogger } from '../../runtime/observability/logger';
import { createSidecarApp, SIDECAR_MAX_BODY_BYTES, type SidecarTrust } from '../../runtime/sidecar/app';
import { createFakeExecutor } from '../support/sidecar-fake-executor';
import { seedFor } from '../support/sidecar-fake-executor';
import { testSigner } from '../support/backup-signer';
import { readTrustedManifest } from '../../handlers/backup/manifest';

const TOKEN = 'test-token-0123456789abcdef';
const DIR = '/srv/backups';
const FILE = 'bomnipotent_20260111_103024.dump';
// A well-formed trust policy: the edge checks its shape, the fake executor never reads it.
const TRUST = { trustedKeys: [`ed25519:${'A'.repeat(43)}=`] };
const SEED: BackupMetadataSeed = seedFor('manual', 'admin@example.com');

const SIGNER = testSigner();
/** A format-2 dump request: the server names its signing key, the sidecar asks it to sign the manifest. */
const DUMP_BODY = {
  directory: DIR,
  seed: SEED,
  options: { compression: 'zstd', encryptionRecipients: [] },
  minSequence: 1,
  signerPublicKey: SIGNER.publicKey,
};

function setup(heartbeatMs?: number, own?: { trust: SidecarTrust; now: () => Date }) {
  const executor = createFakeExecutor();
  const lines: string[] = [];
  const logger = {
    ...silentLogger(),
    warn: (m: string) => lines.push(m),
    info: (m: string) => lines.push(m),
  };
  const app = createSidecarApp({
    executor,
    token: TOKEN,
    logger,
    allowedDirectory: DIR,
    database: 'bomnipotent',
    ...(heartbeatMs ? { heartbeatMs } : {}),
    ...own,
  });
  const post = (path: string, body: unknown, token: string | null = TOKEN) =>
    app.request(path, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(token === null ? {} : { authorization: `Bearer ${token}` }),
      },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
  return { app, executor, post, lines };
}

async function finalLine(response: Response): Promise<Record<string, unknown>> {
  const lines = (await response.text()).trim().split('\n');
  return JSON.parse(lines.at(-1)!) as Record<string, unknown>;
}

describe('sidecar app: who may call', () => {
  it('answers 401 without a token and runs nothing', async () => {
    const { post, executor } = setup();
    const res = await post('/v1/dump', DUMP_BODY, null);
    expect(res.status).toBe(401);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    expect(await res.json()).toMatchObject({
      code: 'EXECUTOR.SIDECAR_TOKEN_REFUSED',
      kind: 'unauthenticated',
    });
    expect(executor.calls).toEqual([]);
  });

  it('answers 401 to a wrong token, also one differing only in length, and never echoes it', async () => {
    const { post, executor, lines } = setup();
    for (const token of ['wrong-token-0123456789abcdef', `${TOKEN}x`, TOKEN.slice(0, -1), 'Bearer']) {
      const res = await post('/v1/list', { directory: DIR }, token);
      expect(res.status).toBe(401);
      expect(await res.text()).not.toContain(token);
    }
    expect(executor.calls).toEqual([]);
    expect(lines.join('\n')).not.toContain('wrong-token');
  });

  it('refuses a token shorter than 16 characters at construction', () => {
    expect(() =>
      createSidecarApp({
        executor: createFakeExecutor(),
        token: 'short',
        logger: silentLogger(),
        allowedDirectory: DIR,
      }),
    ).toThrow(/16/);
  });

  it('answers 404 to unknown routes, with or without a token', async () => {
    const { app, post, executor } = setup();
    expect((await post('/v1/exec', { command: 'rm -rf /' })).status).toBe(404);
    expect((await post('/v1/shell', { command: 'id' }, null)).status).toBe(401);
    expect((await app.request('/etc/passwd')).status).toBe(404);
    expect(
      (await app.request('/v1/list', { method: 'GET', headers: { authorization: `Bearer ${TOKEN}` } }))
        .status,
    ).toBe(404);
    expect(executor.calls).toEqual([]);
  });

  it('has an open /health that runs nothing', async () => {
    const { app, executor } = setup();
    const res = await app.request('/health');
    expect(res.status).toBe(200);
    expect(executor.calls).toEqual([]);
  });
});

describe('sidecar app: what may be touched', () => {
  it('refuses any directory but its own with 403', async () => {
    const { post, executor } = setup();
    for (const directory of ['/etc', '/srv/backups/../../etc', '/srv/backups-other', 'relative/dir']) {
      const res = await post('/v1/list', { directory, trust: TRUST });
      expect(res.status).toBe(403);
      expect(await res.json()).toMatchObject({ code: 'EXECUTOR.SIDECAR_DIRECTORY_REFUSED' });
    }
    expect(executor.calls).toEqual([]);
  });

  it('accepts its own directory with a trailing slash', async () => {
    const { post, executor } = setup();
    const res = await post('/v1/list', { directory: '/srv/backups/', trust: TRUST });
    expect(res.status).toBe(200);
    expect(await finalLine(res)).toEqual({ result: [] });
    expect(executor.calls.map((c) => c.operation)).toEqual(['list']);
  });

  it('refuses file names that are not backup names with 400', async () => {
    const { post, executor } = setup();
    for (const file of [
      '../../etc/passwd',
      'passwd',
      '.hidden_20260111_103024.dump',
      'x/../bomnipotent_20260111_103024.dump',
      `${FILE}.meta.json`,
    ]) {
      const res = await post('/v1/remove', { directory: DIR, file });
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ code: 'EXECUTOR.INVALID_NAME', kind: 'invalid' });
      // verify answers "not ok" for such a name, as the in-process executor does, without running it.
      const verified = await post('/v1/verify', { directory: DIR, file, options: TRUST });
      expect(await finalLine(verified)).toEqual({
        result: { ok: false, reason: `${JSON.stringify(file)} is not a valid backup file name.` },
      });
    }
    expect(executor.calls).toEqual([]);
  });

  it('restores only into databases derived from its own database name', async () => {
    const { post, executor } = setup();
    for (const targetDatabase of ['postgres', 'bomnipotent', 'other_scratch', 'bomnipotent_x; drop']) {
      const res = await post('/v1/restore', { directory: DIR, file: FILE, targetDatabase, read: TRUST });
      expect([400, 403]).toContain(res.status);
    }
    expect(executor.calls).toEqual([]);
    const ok = await post('/v1/restore', {
      directory: DIR,
      file: FILE,
      targetDatabase: 'bomnipotent_restore_1',
      read: TRUST,
    });
    expect(await finalLine(ok)).toEqual({ result: { copyRows: {} } });
  });

  it('refuses malformed bodies, extra keys and oversized bodies', async () => {
    const { post, executor } = setup();
    expect((await post('/v1/list', 'not json')).status).toBe(400);
    expect((await post('/v1/list', { directory: DIR, command: 'id' })).status).toBe(400);
    expect((await post('/v1/probe', { serverMajor: 'fifteen' })).status).toBe(400);
    const big = JSON.stringify({ directory: DIR, pad: 'x'.repeat(SIDECAR_MAX_BODY_BYTES) });
    expect((await post('/v1/list', big)).status).toBe(413);
    expect(executor.calls).toEqual([]);
  });
});

describe('sidecar app: the answer stream', () => {
  it('streams the dump result as the last NDJSON line', async () => {
    const { post, executor } = setup();
    const res = await post('/v1/dump', DUMP_BODY);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/x-ndjson');
    // The manifest goes out as a sign request; the signed file comes back on /v1/signature.
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = '';
    const signLine = () =>
      text
        .split('\n')
        .slice(0, -1) // complete lines only
        .find((l) => l.startsWith('{"sign"'));
    while (!signLine()) text += (await reader.read()).value ?? '';
    const request = JSON.parse(signLine()!) as { sign: { id: string; manifest: BackupManifest } };
    const manifestFile = await SIGNER.sign(request.sign.manifest);
    expect((await post('/v1/signature', { id: request.sign.id, manifestFile })).status).toBe(200);
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) text += chunk.value;
    const last = JSON.parse(text.trim().split('\n').at(-1)!) as { result: CatalogEntry };
    expect(last.result).toMatchObject({ file: FILE, state: 'trusted' });
    expect(last.result.manifest).toMatchObject({ database: 'bomnipotent', sha256: 'ab'.repeat(32) });
    expect(executor.signed).toEqual([manifestFile]);
    expect(readTrustedManifest(manifestFile, [SIGNER.publicKey], FILE)).toMatchObject({ ok: true });
    expect(executor.calls[0]).toMatchObject({ operation: 'dump', args: [DIR, SEED] });
  });

  it('sends heartbeats while an operation runs', async () => {
    const { post, executor } = setup(20);
    executor.hang = true;
    const res = await post('/v1/dump', DUMP_BODY);
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = '';
    while (text.split('\n').length < 4) text += (await reader.read()).value ?? '';
    expect(text.split('\n').slice(0, 3)).toEqual([
      '{"heartbeat":true}',
      '{"heartbeat":true}',
      '{"heartbeat":true}',
    ]);
    await reader.cancel();
    expect(executor.calls[0]!.signal!.aborted).toBe(true);
  });

  it('carries AppErrors with code, kind, message and suggestion in the last line', async () => {
    const { post, executor } = setup();
    executor.failWith = new AppError(
      'EXECUTOR.DISK_FULL',
      'failed',
      'No space left in the backup directory.',
      { suggestion: 'Free some space.' },
    );
    const res = await post('/v1/dump', DUMP_BODY);
    expect(await finalLine(res)).toEqual({
      error: {
        type: 'about:blank',
        title: 'EXECUTOR.DISK_FULL',
        status: 500,
        code: 'EXECUTOR.DISK_FULL',
        kind: 'failed',
        detail: 'No space left in the backup directory.',
        suggestion: 'Free some space.',
      },
    });
  });

  it('turns unexpected errors into a generic one, with no secret in it', async () => {
    const { post, executor } = setup();
    executor.failWith = new Error('connect to postgres://bob:hunter2@db/x failed');
    const res = await post('/v1/list', { directory: DIR, trust: TRUST });
    const text = await res.text();
    expect(text).toContain('EXECUTOR.SIDECAR_INTERNAL');
    expect(text).not.toContain('hunter2');
  });

  it('aborts the executor operation when the client goes away', async () => {
    const { app, executor } = setup();
    executor.hang = true;
    const controller = new AbortController();
    const res = await app.request('/v1/dump', {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify(DUMP_BODY),
      signal: controller.signal,
    });
    expect(res.status).toBe(200);
    const signal = executor.calls[0]!.signal!;
    expect(signal.aborted).toBe(false);
    await res.body!.cancel();
    expect(signal.aborted).toBe(true);
  });
});

describe('sidecar app: trust and the audit trail come from its own settings, not from its caller', () => {
  const OWN_KEY = SIGNER.publicKey;
  const ATTACKER_KEY = testSigner().publicKey;
  const AT = new Date('2026-03-01T12:00:00.000Z');
  const withOwn = (allowUnsigned = false) =>
    setup(undefined, { trust: { trustedKeys: [OWN_KEY], allowUnsigned }, now: () => AT });

  it('lists, verifies, prunes and restores with its own keys, whatever keys the request names', async () => {
    const { post, executor } = withOwn();
    const asked = { trustedKeys: [ATTACKER_KEY] };
    await finalLine(await post('/v1/list', { directory: DIR, trust: asked }));
    await finalLine(await post('/v1/verify', { directory: DIR, file: FILE, options: asked }));
    await finalLine(
      await post('/v1/prune', { directory: DIR, database: 'bomnipotent', keep: 3, trust: asked }),
    );
    const target = 'bomnipotent_restore_1';
    await finalLine(
      await post('/v1/restore', { directory: DIR, file: FILE, targetDatabase: target, read: asked }),
    );
    expect(JSON.stringify(executor.calls.map((c) => c.args))).not.toContain(ATTACKER_KEY);
    expect(executor.calls.map((c) => c.operation)).toEqual(['list', 'verify', 'prune', 'restore']);
    expect(executor.calls[0]?.args[1]).toEqual({ trustedKeys: [OWN_KEY] });
    expect(executor.calls[3]?.args[3]).toEqual({ trustedKeys: [OWN_KEY] });
  });

  it('refuses an untrusted restore unless its own settings allow it, and runs nothing', async () => {
    const body = {
      directory: DIR,
      file: FILE,
      targetDatabase: 'bomnipotent_restore_1',
      read: { trustedKeys: [OWN_KEY], allowUnsigned: true },
    };
    const refused = withOwn();
    const res = await refused.post('/v1/restore', body);
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({
      code: 'EXECUTOR.SIDECAR_UNSIGNED_REFUSED',
      suggestion: expect.stringContaining('BOMNIPOTENT_EXECUTOR_ALLOW_UNSIGNED=true') as string,
    });
    expect(refused.executor.calls).toEqual([]);
    expect(refused.lines.join('\n')).toContain('refused a restore of an untrusted file');
    const allowed = withOwn(true);
    expect(await finalLine(await allowed.post('/v1/restore', body))).toEqual({ result: { copyRows: {} } });
  });

  it('refuses a dump signed by a key it does not trust', async () => {
    const { post, executor } = withOwn();
    const res = await post('/v1/dump', { ...DUMP_BODY, signerPublicKey: ATTACKER_KEY });
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({ code: 'EXECUTOR.SIDECAR_SIGNER_REFUSED' });
    expect(executor.calls).toEqual([]);
  });

  it('dates an audit record by its own clock, not by the time the caller wrote in it', async () => {
    const { post, executor } = withOwn();
    const record = {
      at: '2020-01-01T00:00:00.000Z',
      action: 'restore',
      outcome: 'succeeded',
      user: 'admin@example.com',
      trigger: 'manual',
      file: FILE,
      message: 'Restored.',
    };
    await finalLine(await post('/v1/audit', { directory: DIR, record }));
    expect(executor.calls[0]?.args[1]).toEqual({ ...record, at: AT.toISOString() });
  });
});
