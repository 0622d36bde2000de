// One backup into the store: the data object (multipart, streamed, hashed on the way), then the manifest object,
// each written once, each confirmed by HEAD. A cut-off upload leaves at most a data object without a manifest.
import { createHash } from 'node:crypto';
import { constants, createReadStream } from 'node:fs';
import { open, readFile, type FileHandle } from 'node:fs/promises';
import { Transform } from 'node:stream';
import type { S3Client } from '@aws-sdk/client-s3';
import type { Sdk } from './sdk';
import { AppError } from '../../handlers/errors';
import type { OffsiteSettings, OffsiteUpload, OffsiteUploadResult } from '../../handlers/offsite/model';
import { classifyOffsiteError, OFFSITE_ERRORS } from './errors';
import { MARK, RETAIN_UNTIL_KEY, SHA256_KEY } from './naming';
import { partSizeFor } from './part-size';

export interface UploadContext {
  client: S3Client;
  sdk: Sdk;
  settings: OffsiteSettings;
  location: string;
  now: () => Date;
  minPartBytes: number;
  queueSize: number;
}

const MAX_MANIFEST_BYTES = 1024 * 1024;

/** An upload as the store runs it: from the directory the store is bound to. */
export type LocatedUpload = OffsiteUpload & { directory: string };

export async function uploadBackup(ctx: UploadContext, request: LocatedUpload): Promise<OffsiteUploadResult> {
  const { file, manifestFile } = request;
  const dataKey = `${ctx.settings.prefix}${file}`;
  const manifestKey = `${ctx.settings.prefix}${manifestFile}`;
  const fail = (what: string) => (error: unknown) => {
    throw classifyOffsiteError(error, ctx.location, what);
  };
  if ((await head(ctx, manifestKey).catch(fail(`checking ${manifestFile}`))) !== null) {
    throw conflict(ctx, manifestFile, '(this backup is off-site already)');
  }
  // O_NOFOLLOW: a symlink planted in the directory must not send some other file off-site.
  const handle = await open(`${request.directory}/${file}`, constants.O_RDONLY | constants.O_NOFOLLOW);
  let sizeBytes: number;
  let partSizeBytes: number;
  let replacedIncomplete = false;
  try {
    sizeBytes = (await handle.stat()).size;
    partSizeBytes = partSizeFor(sizeBytes, ctx.minPartBytes);
    const existing = await head(ctx, dataKey).catch(fail(`checking ${file}`));
    if (existing !== null) {
      // No manifest refers to a data object yet (the caller uploads only what has none off-site), so an earlier
      // run was cut off: its object was never a backup and is replaced, but only when this product wrote it.
      if (existing.mark !== MARK.data) throw conflict(ctx, file, 'that this product did not write');
      replacedIncomplete = true;
    }
    await putData(ctx, handle, dataKey, sizeBytes, partSizeBytes, request).catch(fail(`uploading ${file}`));
  } finally {
    await handle.close();
  }
  const confirmed = await head(ctx, dataKey).catch(fail(`confirming ${file}`));
  if (confirmed === null || confirmed.sizeBytes !== sizeBytes) {
    throw notConfirmed(ctx, file);
  }
  const manifest = await readFile(`${request.directory}/${manifestFile}`, {
    flag: constants.O_RDONLY | constants.O_NOFOLLOW,
  });
  if (manifest.length > MAX_MANIFEST_BYTES) throw conflict(ctx, manifestFile, 'too large to be a manifest');
  await ctx.client
    .send(
      new ctx.sdk.PutObjectCommand({
        ...objectParams(ctx, manifestKey, MARK.manifest, request.sha256),
        Body: manifest,
        ContentType: 'application/json',
        IfNoneMatch: '*', // written once: a manifest already there is never replaced
      }),
      { abortSignal: request.signal },
    )
    .catch(fail(`uploading ${manifestFile}`));
  const committed = await head(ctx, manifestKey).catch(fail(`confirming ${manifestFile}`));
  if (committed === null || committed.sizeBytes !== manifest.length) throw notConfirmed(ctx, manifestFile);
  const parts = sizeBytes <= partSizeBytes ? 1 : Math.ceil(sizeBytes / partSizeBytes);
  return { file, sizeBytes, partSizeBytes, parts, replacedIncomplete };
}

async function putData(
  ctx: UploadContext,
  handle: FileHandle,
  key: string,
  sizeBytes: number,
  partSizeBytes: number,
  request: LocatedUpload,
): Promise<void> {
  const hash = createHash('sha256');
  const hashing = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      callback(null, chunk);
    },
  });
  const source = createReadStream('', { fd: handle, autoClose: false, start: 0 }).pipe(hashing);
  const abortController = new AbortController();
  const onAbort = () => abortController.abort();
  request.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const upload = new ctx.sdk.Upload({
      client: ctx.client,
      queueSize: ctx.queueSize,
      partSize: partSizeBytes,
      leavePartsOnError: false, // an interrupted multipart upload is aborted, not left to cost storage
      abortController,
      params: {
        ...objectParams(ctx, key, MARK.data, request.sha256),
        Body: source,
        ContentLength: sizeBytes,
        ContentType: 'application/octet-stream',
        ...(ctx.settings.checksum === 'when_supported' ? { ChecksumAlgorithm: 'CRC32' as const } : {}),
      },
    });
    await upload.done();
  } finally {
    request.signal?.removeEventListener('abort', onAbort);
  }
  const actual = hash.digest('hex');
  if (actual !== request.sha256) {
    // The file changed or rotted since its manifest was written: the object must not become a backup.
    throw new AppError(
      OFFSITE_ERRORS.CHECKSUM_MISMATCH,
      'failed',
      `Off-site store ${ctx.location}: ${request.file} does not match its manifest's SHA-256 (read ${actual}); its manifest was not uploaded.`,
      { suggestion: 'Run `database-backup verify` on it; the next backup run uploads the others.' },
    );
  }
}

function objectParams(ctx: UploadContext, key: string, mark: string, sha256: string) {
  const metadata: Record<string, string> = { [MARK.key]: mark, [SHA256_KEY]: sha256 };
  const lock: { ObjectLockMode?: 'GOVERNANCE' | 'COMPLIANCE'; ObjectLockRetainUntilDate?: Date } = {};
  if (ctx.settings.lockDays !== null) {
    const until = new Date(ctx.now().getTime() + ctx.settings.lockDays * 86_400_000);
    lock.ObjectLockMode = ctx.settings.lockMode;
    lock.ObjectLockRetainUntilDate = until;
    // Recorded with the object too, so that retention skips it even on a store that does not report locks.
    metadata[RETAIN_UNTIL_KEY] = until.toISOString();
  }
  return { Bucket: ctx.settings.bucket, Key: key, Metadata: metadata, ...lock };
}

export interface HeadResult {
  sizeBytes: number;
  sha256: string | null;
  mark: string | null;
  lockedUntil: Date | null;
}

/** null when the key does not exist. */
export async function head(
  ctx: { client: S3Client; sdk: Sdk; settings: OffsiteSettings },
  key: string,
): Promise<HeadResult | null> {
  try {
    const answer = await ctx.client.send(
      new ctx.sdk.HeadObjectCommand({ Bucket: ctx.settings.bucket, Key: key }),
    );
    const metadata = answer.Metadata ?? {};
    const recorded = metadata[RETAIN_UNTIL_KEY] ? new Date(metadata[RETAIN_UNTIL_KEY]) : null;
    const reported = answer.ObjectLockRetainUntilDate ?? null;
    const lockedUntil = [recorded, reported]
      .filter((d): d is Date => d !== null && !Number.isNaN(d.getTime()))
      .sort((a, b) => b.getTime() - a.getTime())[0];
    return {
      sizeBytes: answer.ContentLength ?? -1,
      sha256: metadata[SHA256_KEY] ?? null,
      mark: metadata[MARK.key] ?? null,
      lockedUntil: lockedUntil ?? null,
    };
  } catch (error) {
    const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if (status === 404 || (error as { name?: string }).name === 'NotFound') return null;
    throw error;
  }
}

function conflict(ctx: UploadContext, name: string, why: string): AppError {
  return new AppError(
    OFFSITE_ERRORS.CONFLICT,
    'conflict',
    `Off-site store ${ctx.location}: an object named ${name} exists already ${why}; it is never overwritten.`,
    { suggestion: 'Look at that object in the store: it was not written by this server for this backup.' },
  );
}

function notConfirmed(ctx: UploadContext, name: string): AppError {
  return new AppError(
    OFFSITE_ERRORS.NOT_CONFIRMED,
    'failed',
    `Off-site store ${ctx.location}: ${name} was uploaded but a HEAD request does not show it with its size.`,
    { suggestion: 'The copy does not count; it is retried on the next run. Check the store’s consistency.' },
  );
}
