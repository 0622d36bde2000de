// Facts about a dump file on disk: its SHA-256 (streamed), whether pg_dump finished it, and durable renames.
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { Transform, type TransformCallback } from 'node:stream';

const HEAD = '--\n-- PostgreSQL database dump';
const COMPLETE = /--[ \t]*PostgreSQL database dump complete[ \t]*\n--$/;
const UNRESTRICT = /\n\\unrestrict [^\n]*$/;

/** Passes bytes through unchanged while hashing and counting them. */
export class HashingPassThrough extends Transform {
  private readonly hash: Hash = createHash('sha256');
  bytes = 0;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    callback(null, chunk);
  }

  digest(): string {
    return this.hash.digest('hex');
  }
}

/** 1 MiB reads: with 64 KiB ones, hashing a large dump takes nearly twice as long. */
const READ_CHUNK_BYTES = 1024 * 1024;

/**
 * Flushes the file to disk every `everyBytes` while the dump is still being written, so that the final fsync
 * has little left to do: the disk works while pg_dump does, instead of afterwards. At most one flush runs at a
 * time; the stream waits for the previous one before starting the next, and for the last before it ends.
 */
export class ProgressiveSync extends Transform {
  private sinceSync = 0;
  private pending: Promise<void> = Promise.resolve();

  constructor(
    private readonly handle: FileHandle,
    private readonly everyBytes = 64 * 1024 * 1024,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.sinceSync += chunk.length;
    if (this.sinceSync < this.everyBytes) return callback(null, chunk);
    this.sinceSync = 0;
    this.pending.then(
      () => {
        this.pending = this.handle.datasync();
        this.pending.catch(() => {}); // awaited (and its error reported) in _flush or by the next flush
        callback(null, chunk);
      },
      (error: unknown) => callback(error as Error),
    );
  }

  override _flush(callback: TransformCallback): void {
    this.pending.then(
      () => callback(),
      (error: unknown) => callback(error as Error),
    );
  }
}

export async function sha256OfFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: READ_CHUNK_BYTES }))
    hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function readRange(path: string, from: 'head' | 'tail', length: number): Promise<string> {
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    const count = Math.min(length, size);
    const buffer = Buffer.alloc(count);
    await handle.read(buffer, 0, count, from === 'head' ? 0 : size - count);
    return buffer.toString('utf8');
  } finally {
    await handle.close();
  }
}

/** Why a plain pg_dump file is not complete, or null when it is: the header, and the completion marker at the end
 * (possibly followed by the `\unrestrict <key>` line of 15.14+ and blank lines). */
export function completenessProblem(head: string, tail: string): string | null {
  if (!head.replace(/\r\n/g, '\n').startsWith(HEAD)) return 'it does not start like a plain pg_dump file';
  let end = tail.replace(/\r\n/g, '\n').trimEnd();
  end = end.replace(UNRESTRICT, '').trimEnd();
  if (!COMPLETE.test(end))
    return 'the completion marker "-- PostgreSQL database dump complete" is missing at the end';
  return null;
}

export async function checkDumpComplete(path: string): Promise<string | null> {
  const [head, tail] = await Promise.all([readRange(path, 'head', 256), readRange(path, 'tail', 4096)]);
  return completenessProblem(head, tail);
}

/** Makes a rename or unlink in `directory` durable; file systems that cannot fsync a directory are tolerated. */
export async function fsyncDirectory(directory: string): Promise<void> {
  let handle;
  try {
    handle = await open(directory, 'r');
    await handle.sync();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EISDIR' && code !== 'EINVAL' && code !== 'EPERM') throw error;
  } finally {
    await handle?.close();
  }
}
