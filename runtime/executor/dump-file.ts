// Facts about a dump file on disk: its SHA-256 (streamed), whether pg_dump finished it, and durable renames.
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
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

export async function sha256OfFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
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
