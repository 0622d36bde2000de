// A dump of pg_dump 17 or newer restored into PostgreSQL 16 or older: its header sets `transaction_timeout`, a
// setting those servers do not know, and psql with ON_ERROR_STOP stops there ("unrecognized configuration parameter").
// This stage drops exactly that line of the header (the SET lines before the first statement); nothing else changes.
// The setting only switches a timeout off for the restore's session, which is the default anyway.
import { Transform, type TransformCallback } from 'node:stream';

/** The line pg_dump 17+ writes; only this exact line is dropped. */
export const TRANSACTION_TIMEOUT_LINE = 'SET transaction_timeout = 0;';

/** The first major that knows transaction_timeout. */
const KNOWN_SINCE_MAJOR = 17;

/** A header longer than this (it is some hundred bytes) is passed on as it is. */
const MAX_HEADER = 64 * 1024;

/** Lines of the header that may come before the SET to drop. */
const HEADER_LINE =
  /^(--.*|\s*|\\restrict [A-Za-z0-9]+|SET [a-z_]+ = .*;|SELECT pg_catalog\.set_config\(.*\);)\r?$/;

/** True when a dump restored into a server of this major needs the line dropped (unknown major: drop it too). */
export function needsOlderServerFilter(serverMajor: number | null | undefined): boolean {
  return serverMajor === null || serverMajor === undefined || serverMajor < KNOWN_SINCE_MAJOR;
}

export class OlderServerFilter extends Transform {
  private header: Buffer[] = [];
  private headerBytes = 0;
  private done = false;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.done) return callback(null, chunk);
    this.header.push(chunk);
    this.headerBytes += chunk.length;
    const text = Buffer.concat(this.header);
    const result = filterHeader(text);
    if (result === null && this.headerBytes < MAX_HEADER) return callback(); // the header goes on
    this.done = true;
    this.header = [];
    callback(null, result ?? text);
  }

  override _flush(callback: TransformCallback): void {
    if (this.done) return callback();
    const text = Buffer.concat(this.header);
    callback(null, filterHeader(text, true) ?? text);
  }
}

/**
 * The bytes with the line dropped, or unchanged once a line past the header is seen; null while every complete line
 * so far belongs to the header (more is needed), unless `atEnd`.
 */
function filterHeader(bytes: Buffer, atEnd = false): Buffer | null {
  let start = 0;
  for (;;) {
    const nl = bytes.indexOf(0x0a, start);
    if (nl < 0) return atEnd ? bytes : null;
    const line = bytes.subarray(start, nl).toString('latin1');
    const bare = line.endsWith('\r') ? line.slice(0, -1) : line;
    if (bare === TRANSACTION_TIMEOUT_LINE)
      return Buffer.concat([bytes.subarray(0, start), bytes.subarray(nl + 1)]);
    if (!HEADER_LINE.test(line)) return bytes; // past the header: the line is not there
    start = nl + 1;
  }
}
