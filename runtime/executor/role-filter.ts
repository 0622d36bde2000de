// The stage between the dump guard and psql that lets a dump load as the restoring role, whoever made it, and keeps
// that role for the whole load: every statement outside COPY data is judged (role-statements.ts), COPY data passes
// untouched (only its lines' first bytes are read, for the `\.` that ends it). Grants to roles this server lacks are
// dropped and their names kept for one line in the restore's log.
import { Transform, type TransformCallback } from 'node:stream';
import { DumpStructureError } from './dump-guard';
import { judgeStatement, type LaterOwner, type RoleFacts } from './role-statements';
import { SqlLexer } from './sql-lexer';

const NEWLINE = 0x0a;
const BACKSLASH = 0x5c;
const LINE_WITH_BACKSLASH_DOT = Buffer.from('\n\\.', 'latin1');
/** A statement outside COPY data longer than this is refused: the filter holds a statement whole before psql gets it. */
const MAX_STATEMENT_BYTES = 64 * 1024 * 1024;

export class RoleFilter extends Transform {
  /** Roles named by grants that were dropped because this server has no such role. */
  readonly missingRoles = new Set<string>();
  /** `OWNER TO` statements for after the load, when a temporary owner loads (RoleFacts.later). */
  readonly ownersLater: LaterOwner[] = [];
  private readonly lexer = new SqlLexer();
  private copy = false;
  /** The start of a COPY data line that began in an earlier chunk (enough of it to tell `\.`). */
  private copyLine: Buffer | null = null;
  /** Inside a COPY data line whose start was already read (it is not `\.`). */
  private midLine = false;
  /** A statement line that began in an earlier chunk. */
  private partial: Buffer[] = [];
  private partialBytes = 0;
  /** Complete lines of a statement that has not ended yet. */
  private held: Buffer[] = [];
  private heldBytes = 0;
  private offset = 0;

  constructor(private readonly roles: RoleFacts) {
    // 64 KiB, not more: a chunk that waits long in a stage's buffer is promoted out of V8's young generation and its
    // memory stays in the RSS until a full GC; 1 MiB buffers raised the restore's peak RSS (docs/benchmarks.md).
    super({ highWaterMark: 64 * 1024 });
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      this.scan(chunk);
    } catch (error) {
      return callback(error as Error);
    }
    this.offset += chunk.length;
    callback();
  }

  override _flush(callback: TransformCallback): void {
    try {
      if (this.partialBytes > 0) this.statementLine(Buffer.concat(this.partial), this.offset);
      this.partial = [];
      if (this.held.length > 0) this.push(Buffer.concat(this.held)); // psql reports what is left unfinished
    } catch (error) {
      return callback(error as Error);
    }
    callback();
  }

  private scan(chunk: Buffer): void {
    let pos = 0;
    while (pos < chunk.length) {
      if (this.copy) {
        const ended = this.copyData(chunk, pos);
        this.push(chunk.subarray(pos, ended < 0 ? chunk.length : ended));
        if (ended < 0) return;
        this.copy = false;
        pos = ended;
        continue;
      }
      const nl = chunk.indexOf(NEWLINE, pos);
      if (nl < 0) {
        this.keepPartial(chunk.subarray(pos));
        return;
      }
      const piece = chunk.subarray(pos, nl + 1);
      const line = this.partialBytes > 0 ? Buffer.concat([...this.partial, piece]) : piece;
      this.partial = [];
      this.partialBytes = 0;
      this.statementLine(line, this.offset + pos);
      pos = nl + 1;
    }
  }

  /**
   * COPY data from `pos`: where the `\.` line that ends it ends, or -1 when it goes on past this chunk. Only lines
   * that start with a backslash are looked at (found with indexOf): table data streams at memory speed.
   */
  private copyData(chunk: Buffer, from: number): number {
    let pos = from;
    while (pos < chunk.length) {
      if (this.copyLine !== null) {
        // A line whose first bytes decide: `\.` and its newline ends the data.
        const nl = chunk.indexOf(NEWLINE, pos);
        const end = nl < 0 ? chunk.length : nl + 1;
        const start = Buffer.concat([this.copyLine, chunk.subarray(pos, Math.min(end, pos + 4))]);
        if (nl < 0) {
          this.copyLine = Buffer.from(start.subarray(0, 4));
          return -1;
        }
        this.copyLine = null;
        pos = end;
        const text = start.subarray(0, 4).toString('latin1');
        if (text === '\\.\n' || text === '\\.\r\n') return pos;
        continue;
      }
      if (this.midLine) {
        const nl = chunk.indexOf(NEWLINE, pos);
        if (nl < 0) return -1;
        this.midLine = false;
        pos = nl + 1;
        continue;
      }
      // At the start of a line.
      if (chunk[pos] === BACKSLASH) {
        this.copyLine = Buffer.alloc(0);
        continue;
      }
      const candidate = chunk.indexOf(LINE_WITH_BACKSLASH_DOT, pos);
      if (candidate >= 0) {
        pos = candidate + 1;
        this.copyLine = Buffer.alloc(0);
        continue;
      }
      // No `\.` line starts in the rest of this chunk; its last line may go on into the next one.
      const last = chunk.lastIndexOf(NEWLINE);
      if (last < pos) this.midLine = true;
      else if (last + 1 < chunk.length) {
        if (chunk[last + 1] === BACKSLASH) this.copyLine = Buffer.from(chunk.subarray(last + 1, last + 5));
        else this.midLine = true;
      }
      return -1;
    }
    return -1;
  }

  private keepPartial(piece: Buffer): void {
    this.partial.push(Buffer.from(piece));
    this.partialBytes += piece.length;
    if (this.partialBytes + this.heldBytes > MAX_STATEMENT_BYTES) throw this.overlong();
  }

  private overlong(): DumpStructureError {
    return new DumpStructureError(
      `a statement outside table data is longer than ${MAX_STATEMENT_BYTES} bytes (at byte ${this.offset})`,
    );
  }

  private statementLine(line: Buffer, at: number): void {
    // A psql meta-command line between statements (\restrict, \unrestrict, \connect): the dump guard judged it.
    if (!this.lexer.open && line[0] === 0x5c) return void this.push(line);
    const raw = line.toString('latin1');
    const { ended, rest } = this.lexer.line(raw.replace(/\r?\n$/, ''));
    this.held.push(line);
    this.heldBytes += line.length;
    if (rest) {
      if (this.heldBytes > MAX_STATEMENT_BYTES) throw this.overlong();
      return;
    }
    const single = this.held.length === 1 && ended.length === 1 ? raw : null;
    let out: Buffer | null = this.held.length === 1 ? line : Buffer.concat(this.held);
    for (const code of ended) {
      const verdict = judgeStatement(code, single, this.roles);
      if (verdict.action === 'refuse')
        throw new DumpStructureError(
          `the statement at byte ${at} (${code.slice(0, 80)}) is refused: ${verdict.reason}; a restore runs as the database owner and never leaves that role`,
        );
      for (const role of verdict.missingRoles ?? []) this.missingRoles.add(role);
      if (verdict.action === 'drop' && verdict.later) this.ownersLater.push(verdict.later);
      if (verdict.action === 'drop') out = null;
      else if (verdict.text !== undefined) out = Buffer.from(`${verdict.text}\n`, 'latin1');
    }
    this.held = [];
    this.heldBytes = 0;
    if (out) this.push(out);
    if (ended.length > 0 && /^COPY .* FROM STDIN;$/.test(ended[ended.length - 1] ?? '')) this.copy = true;
  }
}
