// The sidecar client against the real sidecar app (fetch routed to app.request) and against broken answers.
import { createServer } from 'node:net';
import { describe, it, expect } from 'vitest';
import { AppError } from '../../handlers/errors';
import type { BackupMetadataSeed, CatalogEntry } from '../../handlers/backup/model';
import { readTrustedManifest } from '../../handlers/backup/manifest';
import { testSigner, trustOf } from '../support/backup-signer';
import { silentLogger } from '../../runtime/observability/logger';
import { createSidecarApp } from '../../runtime/sidecar/app';
import { createSidecarExecutor } from '../../runtime/sidecar/client';
import { createFakeExecutor, entryFor } from '../support/sidecar-fake-executor';
import { seedFor } from '../support/sidecar-fake-executor';
import { rejection } from '../support/rejection';

const TOKEN = 'client-test-token-0123456789';
const DIR = '/srv/backups';
const FILE = 'bomnipotent_20260111_103024.dump';
const SEED: BackupMetadataSeed = seedFor('scheduled', null);
const ENTRY: CatalogEntry = entryFor(FILE, SEED);
const SIGNER = testSigner();
const TRUST = trustOf(SIGNER);
const DUMP = {
  directory: DIR,
  seed: SEED,
  options: { compression: 'zstd' as const, encryptionRecipients: [] },
  minSequence: 1,
  signer: SIGNER,
};

function connected(token = TOKEN) {
  const fake = createFakeExecutor([ENTRY]);
  const app = createSidecarApp({
    executor: fake,
    token: TOKEN,
    logger: silentLogger(),
    allowedDirectory: DIR,
    heartbeatMs: 10,
  });
  const executor = createSidecarExecutor({
    url: 'http://sidecar.test:8091',
    token,
    fetch: (input, init) =>
      Promise.resolve(app.request(input instanceof Request ? input : String(input), init)),
  });
  return { fake, executor };
}

const caught = rejection;

/** A port on loopback where nothing listens (bound, then closed). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function streamingFetch(chunks: string[], thenHang = false): typeof fetch {
  return async () => {
    const body = new ReadableStream<Uint8Array>({
      async start(controller) {
        for (const chunk of chunks) controller.enqueue(new TextEncoder().encode(chunk));
        if (!thenHang) controller.close();
      },
    });
    return new Response(body, { status: 200, headers: { 'content-type': 'application/x-ndjson' } });
  };
}

/** A sidecar client whose sidecar answers `chunks` of NDJSON (and then nothing more, with `hang`). */
function streamingSidecar(chunks: string[], options: { hang?: boolean; idleTimeoutMs?: number } = {}) {
  return createSidecarExecutor({
    url: 'http://sidecar.test',
    token: TOKEN,
    ...(options.idleTimeoutMs === undefined ? {} : { idleTimeoutMs: options.idleTimeoutMs }),
    fetch: streamingFetch(chunks, options.hang === true),
  });
}

describe('sidecar client: the same answers as the in-process executor', () => {
  it('returns every operation result unchanged', async () => {
    const { executor, fake } = connected();
    expect(await executor.probe(15)).toMatchObject({ pgDumpVersion: '15.1', problems: [] });
    expect(await executor.dump(DUMP)).toEqual(ENTRY);
    // The manifest was signed by the server's signer, over the sidecar and back.
    expect(fake.signed).toHaveLength(1);
    expect(readTrustedManifest(fake.signed[0]!, TRUST.trustedKeys, FILE)).toMatchObject({ ok: true });
    expect(await executor.list({ directory: DIR, trust: TRUST })).toEqual([ENTRY]);
    expect(await executor.verify(DIR, FILE, TRUST)).toEqual({ ok: false, reason: 'checksum mismatch' });
    expect(await executor.freeBytes(DIR)).toBe(42_000_000);
    await executor.remove(DIR, FILE);
    await executor.restore({
      directory: DIR,
      file: FILE,
      targetDatabase: 'bomnipotent_scratch',
      read: TRUST,
    });
    const record = {
      at: '2026-01-11T10:30:24.000Z',
      action: 'backup',
      outcome: 'succeeded',
      user: null,
      trigger: 'scheduled',
      file: FILE,
      message: 'ok',
    } as const;
    await executor.appendAudit(DIR, record);
    expect(fake.calls.map((c) => c.operation)).toEqual([
      'probe',
      'dump',
      'list',
      'verify',
      'freeBytes',
      'remove',
      'restore',
      'appendAudit',
    ]);
    // The sidecar dates the record by its own clock (the caller's time is not taken).
    expect(fake.calls.at(-1)!.args).toEqual([DIR, { ...record, at: expect.any(String) as string }]);
  });

  it('rebuilds the executor AppError: code, kind, message and suggestion', async () => {
    const { executor, fake } = connected();
    fake.failWith = new AppError('EXECUTOR.PG_DUMP_FAILED', 'failed', 'pg_dump exited with code 1.', {
      suggestion: 'Read the server log.',
    });
    const error = await caught(executor.dump(DUMP));
    expect(error).toBeInstanceOf(AppError);
    expect([error.code, error.kind, error.message, error.suggestion]).toEqual([
      'EXECUTOR.PG_DUMP_FAILED',
      'failed',
      'pg_dump exited with code 1.',
      'Read the server log.',
    ]);
  });

  it('turns a refused token into a configuration error without the token in it', async () => {
    const wrong = 'wrong-client-token-0123456789';
    const { executor, fake } = connected(wrong);
    const error = await caught(executor.list({ directory: DIR, trust: TRUST }));
    expect(error.code).toBe('EXECUTOR.SIDECAR_TOKEN_REFUSED');
    expect(error.kind).toBe('misconfigured');
    expect(`${error.message} ${error.suggestion}`).not.toContain(wrong);
    expect(fake.calls).toEqual([]);
  });

  it('turns a refused directory into a configuration error', async () => {
    const { executor } = connected();
    const error = await caught(executor.list({ directory: '/somewhere/else', trust: TRUST }));
    expect([error.code, error.kind]).toEqual(['EXECUTOR.SIDECAR_DIRECTORY_REFUSED', 'misconfigured']);
    expect(error.suggestion).toContain('BOMNIPOTENT_EXECUTOR_DIRECTORY');
  });
});

describe('sidecar client: a sidecar that is not there or goes away', () => {
  it('reports EXECUTOR.SIDECAR_UNREACHABLE with the URL and no token when nothing listens', async () => {
    const port = await closedPort();
    const executor = createSidecarExecutor({ url: `http://127.0.0.1:${port}`, token: TOKEN });
    const error = await caught(executor.list({ directory: DIR, trust: TRUST }));
    expect([error.code, error.kind]).toEqual(['EXECUTOR.SIDECAR_UNREACHABLE', 'unavailable']);
    expect(error.message).toContain(`http://127.0.0.1:${port} did not answer`);
    expect(error.message).toMatch(/ECONNREFUSED/);
    expect(`${error.message} ${error.suggestion}`).not.toContain(TOKEN);
  });

  it('reports SIDECAR_UNREACHABLE when the answer stream ends before its last line', async () => {
    const executor = streamingSidecar(['{"heartbeat":true}\n', '{"heartb']);
    const error = await caught(executor.dump(DUMP));
    expect(error.code).toBe('EXECUTOR.SIDECAR_UNREACHABLE');
    expect(error.message).toContain('stopped answering during the dump');
  });

  it('gives up on a sidecar that stays silent past the idle limit', async () => {
    const executor = streamingSidecar(['{"heartbeat":true}\n'], { hang: true, idleTimeoutMs: 100 });
    const error = await caught(
      executor.restore({ directory: DIR, file: FILE, targetDatabase: 'bomnipotent_x', read: TRUST }),
    );
    expect(error.code).toBe('EXECUTOR.SIDECAR_UNREACHABLE');
    expect(error.message).toContain('no heartbeat');
  });

  it('reports a garbled answer as a protocol error', async () => {
    const executor = streamingSidecar(['<html>\n']);
    expect((await caught(executor.list({ directory: DIR, trust: TRUST }))).code).toBe(
      'EXECUTOR.SIDECAR_PROTOCOL',
    );
  });

  it("passes the caller's abort to the sidecar's executor", async () => {
    const { executor, fake } = connected();
    fake.hang = true;
    const controller = new AbortController();
    const pending = caught(executor.dump({ ...DUMP, signal: controller.signal }));
    while (fake.calls.length === 0) await new Promise((r) => setTimeout(r, 5));
    controller.abort();
    const error = await pending;
    expect(error.code).toBe('EXECUTOR.CANCELLED');
    expect(fake.calls[0]!.signal!.aborted).toBe(true);
  });
});
