// The structure check of a plain dump on its way into psql: `\restrict <key>` before the first statement,
// `\unrestrict <key>` (the same key) only as the very last line, the completion marker, and nothing released to
// psql before the rest of the stream has been checked. psql in restricted mode refuses every meta-command (`\!`
// shell, `\connect`, `\copy` to files), so a dump that passes cannot run anything but SQL in the target database.
import { Transform, type TransformCallback } from 'node:stream';

const RESTRICT = /^\\restrict ([A-Za-z0-9]{1,128})\r?$/;
const UNRESTRICT = /^\\unrestrict(?:[ \t]+(\S*))?/;
const COMPLETE = /^--[ \t]*PostgreSQL database dump complete[ \t]*\r?$/;

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
  private carry = '';
  private held: Buffer | null = null;
  /** Whether the last line with content was the completion marker (comment dashes after it do not count). */
  private endsComplete = false;
  private lineNumber = 0;

  /** Whether the dump opened with `\restrict <key>`. */
  get restricted(): boolean {
    return this.key !== null;
  }

  constructor(private readonly options: GuardOptions) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    const text = this.carry + chunk.toString('latin1'); // byte-preserving; every marker is ASCII
    const cut = text.lastIndexOf('\n');
    const complete = cut < 0 ? '' : text.slice(0, cut);
    this.carry = cut < 0 ? text : text.slice(cut + 1);
    try {
      if (cut >= 0) for (const line of complete.split('\n')) this.scan(line);
    } catch (error) {
      return callback(error as Error);
    }
    // One block is always held back, so that what follows a line has been seen before psql gets that line.
    const previous = this.held;
    this.held = Buffer.from(chunk);
    callback(null, previous ?? undefined);
  }

  override _flush(callback: TransformCallback): void {
    try {
      if (this.carry !== '') this.scan(this.carry);
      if (this.options.requireRestrict && this.key === null)
        throw new DumpStructureError(
          'it does not start with \\restrict <key> (only dumps guarded by \\restrict are restored)',
        );
      if (!this.endsComplete)
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

  private scan(raw: string): void {
    this.lineNumber += 1;
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    const blank = line.trim() === '';
    if (this.state === 'closed') {
      if (!blank)
        throw new DumpStructureError(
          `line ${this.lineNumber} follows \\unrestrict, which must be the last statement`,
        );
      return;
    }
    const unrestrict = UNRESTRICT.exec(line);
    if (unrestrict) {
      if (this.key === null || unrestrict[1] !== this.key)
        throw new DumpStructureError(
          `line ${this.lineNumber} has an \\unrestrict that does not match the \\restrict key`,
        );
      this.state = 'closed';
      return;
    }
    if (this.state === 'prologue') {
      const restrict = RESTRICT.exec(line);
      if (restrict?.[1]) {
        this.key = restrict[1];
        this.state = 'body';
        return;
      }
      if (blank || line.startsWith('--')) return;
      if (this.options.requireRestrict)
        throw new DumpStructureError(
          `line ${this.lineNumber} comes before any \\restrict <key> (only dumps guarded by \\restrict are restored)`,
        );
      this.state = 'body';
    }
    if (blank || /^--\s*$/.test(line)) return;
    this.endsComplete = COMPLETE.test(line);
  }
}
