// ProgressiveSync: flushes to disk while the dump is written, one flush at a time, and passes bytes unchanged.
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { FileHandle } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { ProgressiveSync } from '../../runtime/executor/dump-file';

function fakeHandle(delayMs: number) {
  const state = { calls: 0, running: 0, maxRunning: 0 };
  const handle = {
    datasync: async () => {
      state.calls += 1;
      state.running += 1;
      state.maxRunning = Math.max(state.maxRunning, state.running);
      await new Promise((r) => setTimeout(r, delayMs));
      state.running -= 1;
    },
  } as unknown as FileHandle;
  return { handle, state };
}

describe('ProgressiveSync', () => {
  it('flushes every N bytes, never two at once, and waits for the last before the stream ends', async () => {
    const { handle, state } = fakeHandle(5);
    const chunks = Array.from({ length: 10 }, (_, i) => Buffer.alloc(100, i));
    const out: Buffer[] = [];
    await pipeline(
      Readable.from(chunks),
      new ProgressiveSync(handle, 250),
      new Writable({
        write(chunk: Buffer, _e, cb) {
          out.push(chunk);
          cb();
        },
      }),
    );
    expect(Buffer.concat(out)).toEqual(Buffer.concat(chunks));
    expect(state.calls).toBe(3); // after 300, 600 and 900 bytes
    expect(state.maxRunning).toBe(1);
    expect(state.running).toBe(0);
  });

  it('fails the stream when a flush fails', async () => {
    const handle = { datasync: () => Promise.reject(new Error('EIO')) } as unknown as FileHandle;
    await expect(
      pipeline(
        Readable.from([Buffer.alloc(10), Buffer.alloc(10), Buffer.alloc(10)]),
        new ProgressiveSync(handle, 10),
        new Writable({ write: (_c, _e, cb) => cb() }),
      ),
    ).rejects.toThrow('EIO');
  });
});
