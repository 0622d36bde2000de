// The structure check of a plain dump on its way into psql: `\restrict <key>` before the first statement,
// `\unrestrict <key>` (the same key, nothing after it) only as the very last line, the key nowhere else (psql honours
// `\unrestrict <key>` in the middle of a line too), the completion marker, and nothing released to psql before the
// rest of the stream has been checked. psql in restricted mode refuses every meta-command (`\!` shell, `\connect`,
// `\copy` to files), so a dump that passes cannot run anything but SQL in the target database.
//
// It runs on every byte of every backup and restore, so the body of the dump (table data, gigabytes) is not split
// into lines: only the lines that start with a backslash are read there (`\.`, `\connect`, `\unrestrict`), found
// with Buffer.indexOf, and the key is looked for with Buffer.indexOf too (both above 1.5 GiB/s); the header before
// `\restrict`, and everything after `\unrestrict`, is read line by line.
import { Transform, type TransformCallback } from 'node:stream';

const RESTRICT = /^\\restrict ([A-Za-z0-9]{1,128})\r?$/;
/** Any line that starts with `\unrestrict`; only the exact closing line below is accepted. */
const UNRESTRICT = /^\\unrestrict/;
/** The closing line, anchored at both ends: nothing may follow the key (psql would read it as part of the key). */
const CLOSING = /^\\unrestrict[ \t]+([A-Za-z0-9]{1,128})[ \t]*$/;
const COMPLETE = /^--[ \t]*PostgreSQL database dump complete[ \t]*\r?$/;
const NEWLINE = 0x0a;
const BACKSLASH = 0x5c;
const LINE_WITH_BACKSLASH = Buffer.from('\n\\', 'latin1');
/** A line of the header, or after `\unrestrict`, is read whole and may not be longer than this. */
const MAX_READ_LINE = 1024 * 1024;
/**
 * Of a body line that starts with a backslash only this much is read: enough for `\unrestrict <key>` (a key has
 * at most 128 characters). Such a line may be a long row of table data that starts with `\N` (a NULL).
 */
const BODY_LINE_PREFIX = 256;
/** The end of the stream kept for the completion check: the marker is within its last few hundred bytes. */
const TAIL_BYTES = 64 * 1024;

export class DumpStructureError extends Error {
  override name = 'DumpStructureError';
}

export interface GuardOptions {
  /** Require `\restrict` first and allow `\unrestrict` only last (otherwise: no `\unrestrict` anywhere but last). */
  requireRestrict: boolean;
  /** Called before the held-back end is released; a string refuses the stream with that reason. */
  finalCheck?: () => string | null;
}

type State = 'prologue' | 'body' | 'closed';

export class DumpGuard extends Transform {
  private state: State = 'prologue';
  private key: string | null = null;
  private held: Buffer | null = null;
  /** Bytes of the stream before the current chunk. */
  private offset = 0;
  /** Whether the next byte starts a line. */
  private atLineStart = true;
  /** The line being read whole that began in an earlier chunk (null: the current line is not read whole). */
  private partial: Buffer[] | null = null;
  private partialBytes = 0;
  private partialOffset = 0;
  /** Whether the line being read began in the body: only its first BODY_LINE_PREFIX bytes are kept. */
  private partialInBody = false;
  /** Lines read whole in the header: the header's errors name their line. */
  private headerLine = 0;
  private tail: Buffer[] = [];
  private tailBytes = 0;
  /**
   * psql honours `\unrestrict <key>` anywhere in a line (`SELECT 1; \unrestrict <key>`), not only at its start, so
   * the key itself is looked for in every byte of the body: it may appear only in the closing line.
   */
  private keyBytes: Buffer | null = null;
  /** The end of the previous chunk, for a key split between two chunks. */
  private keyCarry: Buffer = Buffer.alloc(0);
  /** The stream offset where the body begins (after the `\restrict` line). */
  private bodyFrom = 0;
  /** The stream offset of the key in the accepted closing line. */
  private closingKeyAt: number | null = null;
  /** A key found in a line that is still being read: allowed only if that line proves to be the closing line. */
  private pendingKeyAt: number | null = null;

  /** Whether the dump opened with `\restrict <key>`. */
  get restricted(): boolean {
    return this.key !== null;
  }

  constructor(private readonly options: GuardOptions) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      this.inspect(chunk);
      this.checkKey(chunk);
    } catch (error) {
      return callback(error as Error);
    }
    this.offset += chunk.length;
    this.remember(chunk);
    // One block is always held back, so that what follows a line has been seen before psql gets that line.
    const previous = this.held;
    this.held = chunk;
    callback(null, previous ?? undefined);
  }

  override _flush(callback: TransformCallback): void {
    try {
      if (this.partial) this.readLine(Buffer.concat(this.partial), this.partialOffset);
      this.partial = null;
      if (this.pendingKeyAt !== null && this.pendingKeyAt !== this.closingKeyAt)
        throw this.strayKey(this.pendingKeyAt);
      if (this.options.requireRestrict && this.key === null)
        throw new DumpStructureError(
          'it does not start with \\restrict <key> (only dumps guarded by \\restrict are restored)',
        );
      if (!this.endsComplete())
        throw new DumpStructureError(
          'the completion marker "-- PostgreSQL database dump complete" is missing at the end (truncated?)',
        );
      if (this.options.requireRestrict && this.state !== 'closed')
        throw new DumpStructureError('it does not end with \\unrestrict <key>');
      const problem = this.options.finalCheck?.() ?? null;
      if (problem) throw new DumpStructureError(problem);
    } catch (error) {
      return callback(error as Error);
    }
    callback(null, this.held ?? undefined);
  }

  private inspect(chunk: Buffer): void {
    let pos = 0;
    while (pos < chunk.length) {
      if (!this.atLineStart) {
        // The rest of a line that began in an earlier chunk.
        const nl = chunk.indexOf(NEWLINE, pos);
        const stop = nl < 0 ? chunk.length : nl;
        if (this.partial) this.collect(chunk.subarray(pos, stop));
        if (nl < 0) return;
        if (this.partial) this.readLine(Buffer.concat(this.partial), this.partialOffset);
        this.partial = null;
        this.atLineStart = true;
        pos = nl + 1;
        continue;
      }
      if (this.state === 'body' && chunk[pos] !== BACKSLASH) {
        // Table data and statements: on to the next line that starts with a backslash.
        const next = chunk.indexOf(LINE_WITH_BACKSLASH, pos);
        if (next < 0) {
          // No such line starts in the rest of this chunk; the next chunk may start one.
          this.atLineStart = chunk[chunk.length - 1] === NEWLINE;
          return;
        }
        pos = next + 1;
      }
      const nl = chunk.indexOf(NEWLINE, pos);
      if (nl < 0) {
        this.partial = [];
        this.partialBytes = 0;
        this.partialOffset = this.offset + pos;
        this.partialInBody = this.state === 'body';
        this.collect(chunk.subarray(pos));
        this.atLineStart = false;
        return;
      }
      if (this.state !== 'body' && nl - pos > MAX_READ_LINE) throw this.overlong(this.offset + pos);
      const end = this.state === 'body' ? Math.min(nl, pos + BODY_LINE_PREFIX) : nl;
      this.readLine(chunk.subarray(pos, end), this.offset + pos);
      pos = nl + 1;
    }
  }

  private collect(piece: Buffer): void {
    if (this.partialInBody) {
      const room = BODY_LINE_PREFIX - this.partialBytes;
      if (room > 0) this.partial?.push(piece.subarray(0, room));
      this.partialBytes += Math.min(room, piece.length);
      return;
    }
    this.partialBytes += piece.length;
    if (this.partialBytes > MAX_READ_LINE) throw this.overlong(this.partialOffset);
    this.partial?.push(piece);
  }

  private overlong(at: number): DumpStructureError {
    return new DumpStructureError(
      `the line at byte ${at} is longer than ${MAX_READ_LINE} bytes where the dump's header or its end is expected`,
    );
  }

  private readLine(bytes: Buffer, at: number): void {
    // In the body only `\unrestrict` matters: `\.` ends table data, `\N` is a NULL, `\connect` is allowed.
    if (this.state === 'body' && bytes[1] !== 0x75 /* u */) return;
    const raw = bytes.toString('latin1'); // byte-preserving; every marker is ASCII
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    const blank = line.trim() === '';
    const where = this.state === 'prologue' ? `line ${++this.headerLine}` : `the line at byte ${at}`;
    if (this.state === 'closed') {
      if (!blank)
        throw new DumpStructureError(`${where} follows \\unrestrict, which must be the last statement`);
      return;
    }
    if (UNRESTRICT.test(line)) {
      const closing = CLOSING.exec(line);
      if (this.key === null || closing?.[1] !== this.key)
        throw new DumpStructureError(`${where} has an \\unrestrict that does not match the \\restrict key`);
      this.state = 'closed';
      this.closingKeyAt = at + line.lastIndexOf(this.key);
      return;
    }
    if (this.state !== 'prologue') return;
    const restrict = RESTRICT.exec(line);
    if (restrict?.[1]) {
      this.key = restrict[1];
      this.keyBytes = Buffer.from(restrict[1], 'latin1');
      this.bodyFrom = at + bytes.length;
      this.state = 'body';
      return;
    }
    if (blank || line.startsWith('--')) return;
    if (this.options.requireRestrict)
      throw new DumpStructureError(
        `${where} comes before any \\restrict <key> (only dumps guarded by \\restrict are restored)`,
      );
    this.state = 'body';
  }

  /** Refuses the key anywhere in the body but in the closing line (see keyBytes). */
  private checkKey(chunk: Buffer): void {
    const key = this.keyBytes;
    if (!key) return;
    const found: number[] = this.pendingKeyAt === null ? [] : [this.pendingKeyAt];
    this.pendingKeyAt = null;
    const carry = this.keyCarry;
    if (carry.length > 0) {
      // Only the occurrences that begin in the carried bytes: the others are found in the chunk itself.
      const joint = Buffer.concat([carry, chunk.subarray(0, key.length - 1)]);
      for (let i = joint.indexOf(key); i >= 0 && i < carry.length; i = joint.indexOf(key, i + 1))
        found.push(this.offset - carry.length + i);
    }
    for (let i = chunk.indexOf(key); i >= 0; i = chunk.indexOf(key, i + 1)) found.push(this.offset + i);
    const keep = key.length - 1;
    const end = chunk.length >= keep ? chunk : Buffer.concat([carry, chunk]);
    this.keyCarry = Buffer.from(end.subarray(Math.max(0, end.length - keep)));
    for (const at of found) {
      if (at < this.bodyFrom || at === this.closingKeyAt) continue;
      // After the closing line every line is read whole and refused unless blank.
      if (this.closingKeyAt !== null && at > this.closingKeyAt) continue;
      // In a line that starts with a backslash and is still being read: decided when it ends.
      if (this.partial && this.partialInBody && at >= this.partialOffset) {
        this.pendingKeyAt = at;
        continue;
      }
      throw this.strayKey(at);
    }
  }

  private strayKey(at: number): DumpStructureError {
    return new DumpStructureError(
      `the \\restrict key appears at byte ${at} outside the closing \\unrestrict line (psql would leave restricted mode there)`,
    );
  }

  private remember(chunk: Buffer): void {
    this.tail.push(chunk);
    this.tailBytes += chunk.length;
    while (this.tail.length > 1 && this.tailBytes - (this.tail[0]?.length ?? 0) >= TAIL_BYTES) {
      this.tailBytes -= this.tail.shift()?.length ?? 0;
    }
  }

  /**
   * Whether the last line with content before `\unrestrict` (or the end) is the completion marker; blank lines and
   * comment dashes after it do not count. Read from the end of the stream only.
   */
  private endsComplete(): boolean {
    if (this.state === 'prologue') return false;
    const whole = this.offset === this.tailBytes;
    const lines = Buffer.concat(this.tail).toString('latin1').split('\n');
    if (!whole) lines.shift(); // it may have begun before the kept end
    let i = lines.length - 1;
    if (this.state === 'closed') {
      while (i >= 0 && !UNRESTRICT.test(lines[i] ?? '')) i -= 1;
      i -= 1;
    }
    for (; i >= 0; i -= 1) {
      const raw = lines[i] ?? '';
      const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
      if (line.trim() === '' || /^--\s*$/.test(line)) continue;
      return COMPLETE.test(line);
    }
    return false;
  }
}
