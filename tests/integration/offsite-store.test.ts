// The S3 off-site store against a real S3 protocol server (s3rver): multipart, both checksum modes, uploads cut off,
// a refusing and a missing store, foreign objects, and the lock check of retention.
import { createServer, type Server, type Socket } from 'node:net';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { DeleteObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startS3Server, s3rverCredentialsEnv, type S3Server } from '../support/s3-server';
import {
  offsiteSettings,
  tempDirectory,
  testStore as storeOver,
  writeFakeBackup,
} from '../support/offsite-fixture';
import type { OffsiteSettings } from '../../handlers/offsite/model';
import type { S3StoreOptions } from '../../runtime/offsite/s3-store';
import { failureOf } from '../support/rejection';

let server: S3Server;
let work: Awaited<ReturnType<typeof tempDirectory>>;
let bucketCount = 0;

beforeAll(async () => {
  for (const [key, value] of Object.entries(s3rverCredentialsEnv())) vi.stubEnv(key, value);
  server = await startS3Server();
  work = await tempDirectory('offsite-store-');
});

afterAll(async () => {
  await server?.close();
  await work?.remove();
  vi.unstubAllEnvs();
});

/** A store bound to `work` (uploads read from it); `into(dir)` is the same store bound to another directory. */
function testStore(settings: OffsiteSettings, options: Partial<S3StoreOptions> = {}) {
  const bound = (directory: string) => storeOver(settings, { ...options, directory });
  return Object.assign(bound(work.path), { into: bound });
}

async function freshBucket(): Promise<string> {
  bucketCount += 1;
  const name = `offsite-${process.pid}-${bucketCount}`;
  await server.createBucket(name);
  return name;
}

const codeOf = failureOf;

describe.each(['when_supported', 'when_required'] as const)('with s3_checksum = %s', (checksum) => {
  it('uploads a backup larger than the part size in parts, lists it, and downloads it verified', async () => {
    const store = testStore(offsiteSettings(server.endpoint, await freshBucket(), { checksum }));
    const backup = await writeFakeBackup(
      work.path,
      `db_20260111_10302${checksum === 'when_supported' ? 1 : 2}.dump`,
      11 * 1024 * 1024 + 17,
    );

    const result = await store.upload({
      file: backup.file,
      manifestFile: backup.manifestFile,
      sha256: backup.sha256,
    });
    expect(result).toMatchObject({
      parts: 3,
      partSizeBytes: 5 * 1024 * 1024,
      sizeBytes: backup.bytes.length,
    });

    const listing = await store.list();
    expect(listing.backups.map((b) => b.file)).toEqual([backup.file]);
    expect(listing.backups[0]?.sizeBytes).toBe(backup.bytes.length);
    expect(listing.incomplete).toEqual([]);

    const target = await tempDirectory('offsite-download-');
    try {
      await store.into(target.path).download(backup);
      expect((await readFile(join(target.path, backup.file))).equals(backup.bytes)).toBe(true);
      expect(await readFile(join(target.path, backup.manifestFile), 'utf8')).toBe(
        await readFile(join(work.path, backup.manifestFile), 'utf8'),
      );
    } finally {
      await target.remove();
    }
  });

  it('uploads a small backup in one request and refuses to upload the same backup twice', async () => {
    const store = testStore(offsiteSettings(server.endpoint, await freshBucket(), { checksum }));
    const backup = await writeFakeBackup(
      work.path,
      `db_20260111_10303${checksum === 'when_supported' ? 1 : 2}.dump`,
      1000,
    );
    const result = await store.upload({ ...backup });
    expect(result.parts).toBe(1);
    const again = await codeOf(store.upload({ ...backup }));
    expect(again.code).toBe('OFFSITE.CONFLICT');
    expect((await store.list()).backups).toHaveLength(1);
  });
});

describe('an upload cut off', () => {
  it('halfway through the parts leaves no backup, and the next run uploads it whole', async () => {
    const bucket = await freshBucket();
    const store = testStore(offsiteSettings(server.endpoint, bucket), { queueSize: 1 });
    const backup = await writeFakeBackup(work.path, 'db_20260111_110000.dump', 16 * 1024 * 1024);
    const abort = new AbortController();
    let parts = 0;
    store.client.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'UploadPartCommand' && ++parts === 2) abort.abort();
        return next(args);
      },
      { step: 'initialize', name: 'cutOffAfterFirstPart' },
    );
    const cut = await codeOf(store.upload({ ...backup, signal: abort.signal }));
    expect(cut.code).toBe('OFFSITE.CANCELLED');
    const listing = await store.list();
    expect(listing.backups).toEqual([]);

    const retry = testStore(offsiteSettings(server.endpoint, bucket));
    await retry.upload({ ...backup });
    expect((await retry.list()).backups.map((b) => b.file)).toEqual([backup.file]);
  });

  it('between the data object and the manifest leaves an incomplete object, never a backup; the retry replaces it', async () => {
    const bucket = await freshBucket();
    const store = testStore(offsiteSettings(server.endpoint, bucket));
    const backup = await writeFakeBackup(work.path, 'db_20260111_120000.dump', 2048);
    const abort = new AbortController();
    store.client.middlewareStack.add(
      (next, context) => async (args) => {
        const key = (args.input as { Key?: string }).Key ?? '';
        if (context.commandName === 'PutObjectCommand' && key.endsWith(backup.manifestFile)) abort.abort();
        return next(args);
      },
      { step: 'initialize', name: 'cutOffBeforeManifest' },
    );
    const cut = await codeOf(store.upload({ ...backup, signal: abort.signal }));
    expect(cut.code).toBe('OFFSITE.CANCELLED');
    expect(await store.list()).toMatchObject({ backups: [], incomplete: [backup.file] });

    const retry = testStore(offsiteSettings(server.endpoint, bucket));
    const result = await retry.upload({ ...backup });
    expect(result.replacedIncomplete).toBe(true);
    expect(await retry.list()).toMatchObject({ backups: [{ file: backup.file }], incomplete: [] });
  });

  it('a manifest the store accepted but does not show afterwards: the copy is not counted as done', async () => {
    const bucket = await freshBucket();
    const store = testStore(offsiteSettings(server.endpoint, bucket));
    const other = testStore(offsiteSettings(server.endpoint, bucket)); // a second writer (or a lifecycle rule)
    const backup = await writeFakeBackup(work.path, 'db_20260111_121500.dump', 2048);
    const manifestKey = `bomnipotent/${backup.manifestFile}`;
    store.client.middlewareStack.add(
      (next, context) => async (args) => {
        const result = await next(args);
        const key = (args.input as { Key?: string }).Key ?? '';
        if (context.commandName === 'PutObjectCommand' && key === manifestKey)
          await other.client.send(new DeleteObjectCommand({ Bucket: bucket, Key: manifestKey }));
        return result;
      },
      { step: 'initialize', name: 'manifestGoneAfterItsPut' },
    );
    const failure = await codeOf(store.upload({ ...backup }));
    expect(failure.code).toBe('OFFSITE.NOT_CONFIRMED');
    expect(failure.message).toContain(backup.manifestFile);
    expect(await store.list()).toMatchObject({ backups: [], incomplete: [backup.file] });
  });

  it('refuses a file that no longer matches its manifest and uploads no manifest for it', async () => {
    const bucket = await freshBucket();
    const store = testStore(offsiteSettings(server.endpoint, bucket));
    const backup = await writeFakeBackup(work.path, 'db_20260111_130000.dump', 4096);
    const failure = await codeOf(store.upload({ ...backup, sha256: 'ab'.repeat(32) }));
    expect(failure.code).toBe('OFFSITE.CHECKSUM_MISMATCH');
    expect((await store.list()).backups).toEqual([]);
  });
});

describe('a store that refuses or is not there', () => {
  // s3rver checks the access key id (not SigV4 signatures), so an unknown key is how it answers 403.
  it('answers 403 for wrong credentials, naming the bucket and never a credential', async () => {
    const bucket = await freshBucket();
    const backup = await writeFakeBackup(work.path, 'db_20260112_100000.dump', 100);
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIAWRONGKEY1234');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'wrong-secret-value-1234');
    try {
      const store = testStore(offsiteSettings(server.endpoint, bucket));
      const failure = await codeOf(store.upload({ ...backup }));
      expect(failure.code).toBe('OFFSITE.ACCESS_DENIED');
      expect(failure.message).toContain(`s3://${bucket}/bomnipotent/`);
      expect(failure.message).not.toContain('wrong-secret-value-1234');
      expect(failure.message).not.toContain('AKIAWRONGKEY1234');
      expect((await store.list().catch((error: unknown) => error)) as Error).toMatchObject({
        code: 'OFFSITE.ACCESS_DENIED',
      });
    } finally {
      vi.stubEnv('AWS_ACCESS_KEY_ID', s3rverCredentialsEnv().AWS_ACCESS_KEY_ID);
      vi.stubEnv('AWS_SECRET_ACCESS_KEY', s3rverCredentialsEnv().AWS_SECRET_ACCESS_KEY);
    }
  });

  it('names a bucket that does not exist', async () => {
    const store = testStore(offsiteSettings(server.endpoint, 'no-such-bucket-here'));
    const failure = await codeOf(store.list());
    expect(failure.code).toBe('OFFSITE.NO_SUCH_BUCKET');
    expect(failure.message).toContain('s3://no-such-bucket-here/');
  });

  it('reports a store that is down as unreachable, and works again once it is back', async () => {
    const bucket = await freshBucket();
    const backup = await writeFakeBackup(work.path, 'db_20260112_110000.dump', 100);
    const store = testStore(offsiteSettings(server.endpoint, bucket), {
      timeouts: { connectMs: 2000, idleMs: 5000, maxAttempts: 1 },
    });
    await server.stop();
    try {
      const failure = await codeOf(store.upload({ ...backup }));
      expect(failure.code).toBe('OFFSITE.UNREACHABLE');
      expect(failure.message).toContain(bucket);
    } finally {
      await server.restart();
    }
    await store.upload({ ...backup });
    expect((await store.list()).backups).toHaveLength(1);
  });

  it('gives up on a store that accepts connections but never answers', async () => {
    const sockets = new Set<Socket>();
    const silent: Server = createServer((socket) => sockets.add(socket));
    await new Promise<void>((done) => silent.listen(0, '127.0.0.1', done));
    const port = (silent.address() as { port: number }).port;
    try {
      const store = testStore(offsiteSettings(`http://127.0.0.1:${port}`, 'slow-bucket'), {
        timeouts: { connectMs: 1000, idleMs: 300, maxAttempts: 1 },
      });
      const failure = await codeOf(store.list());
      expect(failure.code).toBe('OFFSITE.UNREACHABLE');
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((done) => silent.close(done));
    }
  });
});

describe('objects under the prefix', () => {
  it('lists objects that are not ours as foreign and never removes them', async () => {
    const bucket = await freshBucket();
    const store = testStore(offsiteSettings(server.endpoint, bucket));
    const put = (Key: string, Body: string) =>
      store.client.send(new PutObjectCommand({ Bucket: bucket, Key, Body }));
    await put('bomnipotent/notes.txt', 'hello');
    await put('bomnipotent/nested/db_20260101_000000.dump', 'x');
    // Named like ours, with a manifest, but written by someone else (no mark in its metadata).
    await put('bomnipotent/db_20260101_000000.dump', 'SELECT 1;');
    await put('bomnipotent/db_20260101_000000.dump.manifest.json', '{}');
    await put('elsewhere/db_20260101_000000.dump', 'x');
    const listing = await store.list();
    expect(listing.foreign.sort()).toEqual(['nested/db_20260101_000000.dump', 'notes.txt']);
    expect(listing.backups.map((b) => b.file)).toEqual(['db_20260101_000000.dump']);
    expect(await store.remove(listing.backups[0]!)).toBe('not-ours');
    expect((await store.list()).backups).toHaveLength(1);
  });
});

describe('object locks', () => {
  it('records the lock with each object and retention skips a locked backup until its lock ends', async () => {
    const bucket = await freshBucket();
    let now = new Date('2026-01-12T00:00:00Z');
    const store = testStore(
      offsiteSettings(server.endpoint, bucket, { lockDays: 7, lockMode: 'COMPLIANCE' }),
      {
        now: () => now,
      },
    );
    const backup = await writeFakeBackup(work.path, 'db_20260112_000000.dump', 100);
    await store.upload({ ...backup });
    expect(await store.remove(backup)).toBe('locked');
    expect((await store.list()).backups).toHaveLength(1);
    now = new Date('2026-01-19T00:00:01Z');
    expect(await store.remove(backup)).toBe('removed');
    expect(await store.list()).toMatchObject({ backups: [], incomplete: [] });
  });
});

describe('downloads', () => {
  it('keeps nothing when the object does not match the trusted checksum', async () => {
    const bucket = await freshBucket();
    const store = testStore(offsiteSettings(server.endpoint, bucket));
    const backup = await writeFakeBackup(work.path, 'db_20260113_000000.dump', 5000);
    await store.upload({ ...backup });
    const target = await tempDirectory('offsite-download-');
    try {
      const failure = await codeOf(store.into(target.path).download({ ...backup, sha256: 'cd'.repeat(32) }));
      expect(failure.code).toBe('OFFSITE.CHECKSUM_MISMATCH');
      expect(await readdir(target.path)).toEqual([]);
    } finally {
      await target.remove();
    }
  });
});
