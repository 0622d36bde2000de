// Stopping continuous protection while the receiver is between steps: the server is stopped (or the slot guard
// pauses the receiver) while `pg_receivewal --create-slot` runs. Before the fix the receiver went on to start the
// streaming pg_receivewal after the stop, which no one would end: stop() never returned and the server hung at
// shutdown. A stand-in pg_receivewal (a shell script) makes the timing certain: creating the slot takes 1 s, streaming
// runs until killed and records its pid.
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../runtime/observability/system-clock';
import { startReceiver } from '../../runtime/pitr/receiver';
import { recordingLogger } from '../support/recording-logger';

let folder: string | undefined;
afterEach(() => {
  if (folder) rmSync(folder, { recursive: true, force: true });
});

function standIn(): { program: string; streamed: string; incoming: string } {
  folder = mkdtempSync(join(tmpdir(), 'receiver-stop-'));
  const streamed = join(folder, 'streamed.pid');
  const program = join(folder, 'pg_receivewal');
  writeFileSync(
    program,
    `#!/bin/sh\ncase " $* " in *" --create-slot "*) sleep 1; exit 0;; esac\necho $$ > '${streamed}'\nexec sleep 600\n`,
  );
  chmodSync(program, 0o755);
  return { program, streamed, incoming: folder };
}

/** A receiver running the stand-in, and what stops it. */
function receiverOfStandIn() {
  const { program, streamed, incoming } = standIn();
  const stopping = new AbortController();
  const receiver = startReceiver({
    program,
    slot: 'bomnipotent_backup',
    directory: incoming,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
    logger: recordingLogger(),
    clock: systemClock(),
    signal: stopping.signal,
  });
  return { streamed, stopping, receiver };
}

describe('the receiver stopped while it creates the slot', () => {
  it('stop: starts no streaming pg_receivewal afterwards, and settles', async () => {
    const { streamed, stopping, receiver } = receiverOfStandIn();
    await new Promise((resolve) => setTimeout(resolve, 300)); // inside --create-slot
    stopping.abort();
    const settled = await Promise.race([
      receiver.running.then(() => 'settled'),
      new Promise((resolve) => setTimeout(() => resolve('still running after 5 s'), 5000)),
    ]);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const leftover = existsSync(streamed) ? Number(readFileSync(streamed, 'utf8')) : undefined;
    if (leftover) process.kill(leftover, 'SIGKILL'); // the bug's stray process, ended here so nothing outlives the test
    expect(settled).toBe('settled');
    expect(leftover).toBeUndefined();
  });

  it('pause: starts no streaming pg_receivewal until resumed', async () => {
    const { streamed, stopping, receiver } = receiverOfStandIn();
    try {
      await new Promise((resolve) => setTimeout(resolve, 300)); // inside --create-slot
      await receiver.pause();
      await new Promise((resolve) => setTimeout(resolve, 1500)); // the slot creation has ended meanwhile
      expect(existsSync(streamed)).toBe(false);
    } finally {
      stopping.abort();
      await receiver.running;
      if (existsSync(streamed)) process.kill(Number(readFileSync(streamed, 'utf8')), 'SIGKILL');
    }
  });
});
