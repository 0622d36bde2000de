// A restore's decoded stream asks V8 for a young-generation collection every 8 MiB when the process has `gc`
// (node --expose-gc), so that freed chunk buffers do not pile up in the RSS (issue 19). A counting stand-in for
// globalThis.gc shows the calls; the feed itself is the real streamBackup reading a real file.
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getHeapSpaceStatistics } from 'node:v8';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterEach, describe, expect, it } from 'vitest';
import type { ExecutorContext } from '../../runtime/executor/executor-context';
import type { OpenedBackup } from '../../runtime/executor/open-backup';
import { discard, streamBackup } from '../../runtime/executor/read-backup';
import { YOUNG_GC_EVERY_BYTES, YoungGcTap, youngGcStages } from '../../runtime/executor/young-gc';

const MB = 1024 * 1024;
const youngBytes = () => getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')!.space_used_size;
const holder = globalThis as { gc?: unknown };
const original = holder.gc;

/** Replaces globalThis.gc with a stand-in that records the options of each call. */
function countGc(): unknown[] {
  const calls: unknown[] = [];
  holder.gc = (options?: unknown) => void calls.push(options);
  return calls;
}

afterEach(() => {
  if (original === undefined) delete holder.gc;
  else holder.gc = original;
});

describe('young-generation collections during a restore', () => {
  it('collects once per 8 MiB that pass, and passes every byte unchanged', async () => {
    let collected = 0;
    const chunks = Array.from({ length: 100 }, (_, i) => Buffer.alloc(MB, i));
    const out: Buffer[] = [];
    await pipeline(
      Readable.from(chunks),
      new YoungGcTap(() => collected++),
      async (source: AsyncIterable<Buffer>) => {
        for await (const chunk of source) out.push(chunk);
      },
    );
    expect(collected).toBe(Math.floor((100 * MB) / YOUNG_GC_EVERY_BYTES));
    expect(Buffer.concat(out).equals(Buffer.concat(chunks))).toBe(true);
  });

  it('asks for a minor collection of the process gc when it has one', () => {
    const calls = countGc();
    const [stage] = youngGcStages();
    expect(stage).toBeInstanceOf(YoungGcTap);
    stage!.write(Buffer.alloc(YOUNG_GC_EVERY_BYTES));
    expect(calls).toEqual([{ type: 'minor' }]);
  });

  it('gets the gc of V8 when the process was started without --expose-gc, and it really collects', async () => {
    delete holder.gc;
    const [stage] = youngGcStages();
    expect(stage).toBeInstanceOf(YoungGcTap);
    expect(holder.gc).toBeUndefined(); // the process's own global is left alone
    // Garbage in the young generation: a scavenge empties it, down to what survives.
    let garbage: unknown[] | undefined = Array.from({ length: 20_000 }, (_, i) => ({ i }));
    garbage = undefined;
    const before = youngBytes();
    expect(before).toBeGreaterThan(512 * 1024);
    stage!.write(Buffer.alloc(YOUNG_GC_EVERY_BYTES));
    expect(youngBytes()).toBeLessThan(before / 2);
    expect(garbage).toBeUndefined();
  });

  it('runs in the feed of a restore (streamBackup) when gc is exposed', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'young-gc-'));
    try {
      const path = join(dir, 'plain.dump');
      const row = `${'x'.repeat(1023)}\n`;
      const end = '-- PostgreSQL database dump complete\n';
      await writeFile(path, `\\restrict k3y\n${row.repeat(40 * 1024)}${end}\\unrestrict k3y\n`); // ~40 MiB
      const handle = await open(path);
      const calls = countGc();
      try {
        const opened = {
          handle,
          file: 'plain.dump',
          path,
          sizeBytes: 40 * MB,
          expected: null,
          signed: false,
          compression: 'none',
          encrypted: false,
          requireRestrict: true,
        } as unknown as OpenedBackup;
        const context = { sourceEnv: process.env } as unknown as ExecutorContext;
        const read = await streamBackup(context, opened, discard(), { trustedKeys: [] });
        expect(read.bytes).toBeGreaterThan(40 * MB);
      } finally {
        await handle.close();
      }
      expect(calls).toHaveLength(5);
      expect(calls.every((c) => (c as { type: string }).type === 'minor')).toBe(true);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
