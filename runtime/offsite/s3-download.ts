// A backup out of the store into the backup directory: streamed through SHA-256 into a temporary file, checked
// against the trusted manifest's checksum, flushed, then renamed; the manifest is written after the data.
import { createHash } from 'node:crypto';
import { constants, createWriteStream } from 'node:fs';
import { openPrivateFile } from '../executor/private-file';
import { fsyncDirectory } from '../executor/dump-file';
import { link, mkdir, open, unlink } from 'node:fs/promises';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { S3Client } from '@aws-sdk/client-s3';
import type { Sdk } from './sdk';
import { AppError } from '../../handlers/errors';
import type { OffsiteSettings } from '../../handlers/offsite/model';
import { classifyOffsiteError, OFFSITE_ERRORS } from './errors';

export interface DownloadContext {
  client: S3Client;
  sdk: Sdk;
  settings: OffsiteSettings;
  location: string;
}

export async function getObjectBytes(
  ctx: DownloadContext,
  name: string,
  maxBytes: number,
): Promise<Uint8Array> {
  try {
    const answer = await ctx.client.send(
      new ctx.sdk.GetObjectCommand({ Bucket: ctx.settings.bucket, Key: `${ctx.settings.prefix}${name}` }),
    );
    if ((answer.ContentLength ?? 0) > maxBytes) {
      throw new AppError(
        OFFSITE_ERRORS.REFUSED,
        'failed',
        `Off-site store ${ctx.location}: ${name} is larger than ${maxBytes} bytes.`,
      );
    }
    if (!answer.Body) return new Uint8Array();
    return await answer.Body.transformToByteArray();
  } catch (error) {
    throw classifyOffsiteError(error, ctx.location, `reading ${name}`);
  }
}

export async function downloadBackup(
  ctx: DownloadContext,
  request: { file: string; manifestFile: string; directory: string; sha256: string },
): Promise<void> {
  const manifest = await getObjectBytes(ctx, request.manifestFile, 1024 * 1024);
  // A fresh server's directory may not exist yet (a backup creates it the same way).
  await mkdir(request.directory, { recursive: true, mode: 0o700 }).catch((error: unknown) => {
    throw localFileError(error, ctx.location, request);
  });
  const target = `${request.directory}/${request.file}`;
  const partial = `${request.directory}/.${request.file}.download`;
  try {
    const answer = await ctx.client.send(
      new ctx.sdk.GetObjectCommand({
        Bucket: ctx.settings.bucket,
        Key: `${ctx.settings.prefix}${request.file}`,
      }),
    );
    const hash = createHash('sha256');
    const hashing = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        hash.update(chunk);
        callback(null, chunk);
      },
    });
    // wx: never follow or reuse whatever sits at the temporary name.
    await pipeline(
      answer.Body as Readable,
      hashing,
      createWriteStream(partial, { flags: 'wx', mode: 0o600 }),
    );
    const actual = hash.digest('hex');
    if (actual !== request.sha256) {
      throw new AppError(
        OFFSITE_ERRORS.CHECKSUM_MISMATCH,
        'failed',
        `Off-site store ${ctx.location}: the downloaded ${request.file} does not match its manifest's SHA-256 (got ${actual}); nothing was kept.`,
        {
          suggestion: 'The object in the store is damaged or was replaced: restore another backup (--file).',
        },
      );
    }
    await fsyncPath(partial);
    await writeNew(`${request.directory}/${request.manifestFile}`, manifest, async () => {
      await link(partial, target); // unlike rename, never replaces a file of the same name
      await unlink(partial);
    });
    await fsyncDirectory(request.directory);
  } catch (error) {
    await unlink(partial).catch(() => {});
    if (isLocalFileError(error)) throw localFileError(error, ctx.location, request);
    throw classifyOffsiteError(error, ctx.location, `downloading ${request.file}`);
  }
}

/** An error of this machine's file system (it has a syscall and a path), not of the store or the network. */
function isLocalFileError(error: unknown): boolean {
  const e = error as { syscall?: unknown; path?: unknown } | null;
  return typeof e === 'object' && e !== null && typeof e.syscall === 'string' && typeof e.path === 'string';
}

function localFileError(
  error: unknown,
  location: string,
  request: { file: string; directory: string },
): AppError {
  const code = (error as { code?: unknown } | null)?.code;
  return new AppError(
    OFFSITE_ERRORS.LOCAL_FILE,
    'failed',
    `Downloading ${request.file} from ${location} failed here: could not write into the backup directory '${request.directory}' (${typeof code === 'string' ? code : 'file system error'}); nothing was kept.`,
    {
      cause: error,
      suggestion:
        'Check that the directory exists or can be created, is writable by the server, and has space.',
    },
  );
}

/** Data first, then its manifest (the commit marker locally too); refuses to replace an existing file. */
async function writeNew(path: string, bytes: Uint8Array, before: () => Promise<void>): Promise<void> {
  const handle = await open(
    path,
    constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
    0o600,
  );
  try {
    await before();
    await handle.writeFile(bytes);
    await handle.sync();
  } catch (error) {
    await unlink(path).catch(() => {});
    throw error;
  } finally {
    await handle.close();
  }
}

async function fsyncPath(path: string): Promise<void> {
  const handle = await openPrivateFile(path, constants.O_RDONLY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
