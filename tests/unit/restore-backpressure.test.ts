// The restore's stream stages between the backup file and psql (a child stage like zstd's, the dump guard, the role
// filter, the row counter) hold a bounded amount of a dump whatever its size when psql reads slowly: wide COPY rows
// (documents of ~100 KB) stream through without piling up in any stage. Less in flight is less RSS: a chunk that
// lingers in a stage's buffer outlives young-generation collections and is freed only by a later full one.
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { CopyRowCounter } from '../../runtime/executor/copy-count';
import { DumpGuard } from '../../runtime/executor/dump-guard';
import { processStage } from '../../runtime/executor/filters';
import { RoleFilter } from '../../runtime/executor/role-filter';

const MB = 1024 * 1024;
const KEY = 'k3y';
const ROWS = 480; // ~48 MB of COPY data
const ROW = `${'x'.repeat(100 * 1024)}\n`;

/** The dump as 64 KiB chunks produced only when read; `produced` counts what left the source. */
function dumpSource(): { stream: Readable; produced: () => number } {
  const text = [
    `\\restrict ${KEY}\n`,
    'CREATE TABLE public.docs (doc text);\n',
    'COPY public.docs (doc) FROM stdin;\n',
    ...Array.from({ length: ROWS }, () => ROW),
    '\\.\n',
    '-- PostgreSQL database dump complete\n',
    `\\unrestrict ${KEY}\n`,
  ];
  const parts = text.values();
  let pending = Buffer.alloc(0);
  let produced = 0;
  const stream = new Readable({
    highWaterMark: 64 * 1024,
    read() {
      while (pending.length < 64 * 1024) {
        const next = parts.next();
        if (next.done) break;
        pending = Buffer.concat([pending, Buffer.from(next.value, 'latin1')]);
      }
      if (pending.length === 0) return void this.push(null);
      const chunk = pending.subarray(0, 64 * 1024);
      pending = pending.subarray(chunk.length);
      produced += chunk.length;
      this.push(chunk);
    },
  });
  return { stream, produced: () => produced };
}

describe('restore pipeline memory', () => {
  it('holds a bounded part of a wide-row dump when psql reads slowly', async () => {
    const source = dumpSource();
    const child = processStage(
      '/bin/cat',
      [],
      { PATH: '/usr/bin:/bin' },
      () => new Error('cat failed') as never,
    );
    const counter = new CopyRowCounter();
    let consumed = 0;
    let mostAhead = 0;
    const slowPsql = new Writable({
      highWaterMark: 64 * 1024,
      write(chunk: Buffer, _encoding, callback) {
        consumed += chunk.length;
        mostAhead = Math.max(mostAhead, source.produced() - consumed);
        setTimeout(callback, 1);
      },
    });
    await pipeline([
      source.stream,
      child.stream,
      new DumpGuard({ requireRestrict: true }),
      new RoleFilter({ exists: () => true, mayOwn: () => true }),
      counter,
      slowPsql,
    ]);
    await child.done;
    expect(counter.rows).toEqual({ 'public.docs': ROWS });
    expect(consumed).toBeGreaterThan(ROWS * ROW.length);
    // The stages' own buffers: the child stage's 1 MiB each way and its pipes, 64 KiB in the guard, the role filter,
    // the counter and psql's input (with 1 MiB there, as before, ~6.5 MiB was ahead of psql).
    expect(mostAhead).toBeLessThan(4 * MB);
  }, 60_000);
});
