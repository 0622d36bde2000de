// Counts the rows of each table's COPY data in a plain dump while it streams into psql: the lines between
// `COPY <table> (...) FROM stdin;` and `\.`. Text-format COPY escapes newlines inside values, so one line is one row.
import { Transform, type TransformCallback } from 'node:stream';

const NEWLINE = 0x0a;
const COPY_START = /^COPY (\S+(?: \S+)*?) (?:\(.*\) )?FROM stdin;$/;
/** A header line longer than this is not one pg_dump writes for COPY (it is kept only while outside COPY data). */
const MAX_CARRIED_LINE = 1024 * 1024;

export class CopyRowCounter extends Transform {
  /** COPY target as the dump names it -> data lines. */
  readonly rows: Record<string, number> = {};
  private table: string | null = null;
  private carry: Buffer[] = [];
  private carried = 0;

  constructor() {
    // 64 KiB, not more: a chunk that waits long in a stage's buffer is promoted out of V8's young generation and its
    // memory stays in the RSS until a full GC; 1 MiB buffers raised the restore's peak RSS (docs/benchmarks.md).
    super({ highWaterMark: 64 * 1024 });
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    let start = 0;
    for (;;) {
      const end = chunk.indexOf(NEWLINE, start);
      if (end < 0) break;
      this.endLine(chunk.subarray(start, end));
      start = end + 1;
    }
    if (start < chunk.length) this.keep(chunk.subarray(start));
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    if (this.carried > 0) this.endLine(Buffer.alloc(0));
    callback();
  }

  /** A partial line at the end of a chunk: inside COPY data only its first bytes matter (is it `\.`?). */
  private keep(part: Buffer): void {
    const limit = this.table === null ? MAX_CARRIED_LINE : 3;
    if (this.carried >= limit) {
      this.carried += part.length;
      return;
    }
    const kept = part.subarray(0, limit - this.carried);
    this.carry.push(Buffer.from(kept));
    this.carried += part.length;
  }

  private endLine(tail: Buffer): void {
    const whole = this.carried > 0;
    const line = whole ? Buffer.concat([...this.carry, tail]) : tail;
    const length = whole ? this.carried + tail.length : tail.length;
    this.carry = [];
    this.carried = 0;
    if (this.table !== null) {
      if (length === 2 && line[0] === 0x5c && line[1] === 0x2e)
        this.table = null; // "\."
      else this.rows[this.table] = (this.rows[this.table] ?? 0) + 1;
      return;
    }
    if (length < 5 || line[0] !== 0x43 /* C */) return;
    const match = COPY_START.exec(line.toString('utf8'));
    if (!match?.[1]) return;
    this.table = match[1];
    this.rows[this.table] ??= 0;
  }
}
