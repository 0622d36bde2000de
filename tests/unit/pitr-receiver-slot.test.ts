// The receiver creates the replication slot again whenever it may be gone. In a CI run the slot guard dropped the slot
// while pg_receivewal was in its 5 s wait after a failed run: pause() and resume() both came and went inside the wait,
// the receiver never saw the pause, streamed without creating the slot, and failed with "replication slot ... does
// not exist" every 5 s for good (capture never had a window again). A stand-in pg_receivewal (a shell script) makes it
// certain: the slot is a marker file that --create-slot makes; streaming fails as the server would without it.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../runtime/observability/system-clock';
import { startReceiver, type Receiver } from '../../runtime/pitr/receiver';
import { recordingLogger } from '../support/recording-logger';
import { until } from '../support/until';

let folder: string | undefined;
let stopping: AbortController | undefined;
let receiver: Receiver | undefined;
afterEach(async () => {
  stopping?.abort();
  await receiver?.running;
  const pid =
    folder && existsSync(join(folder, 'streamed.pid'))
      ? readFileSync(join(folder, 'streamed.pid'), 'utf8')
      : '';
  if (pid) {
    try {
      process.kill(Number(pid), 'SIGKILL'); // a stream the receiver did not end (the bug's kind)
    } catch {
      // already ended by the receiver's stop
    }
  }
  if (folder) rmSync(folder, { recursive: true, force: true });
  folder = stopping = receiver = undefined;
});

/** The stand-in's files: `slot` (the slot exists), `fail` (streaming fails at once), `creates` (one line each). */
function start() {
  folder = mkdtempSync(join(tmpdir(), 'receiver-slot-'));
  const f = (name: string) => join(folder!, name);
  const program = f('pg_receivewal');
  writeFileSync(
    program,
    [
      '#!/bin/sh',
      `case " $* " in *" --create-slot "*) touch '${f('slot')}'; echo created >> '${f('creates')}'; exit 0;; esac`,
      `if [ ! -e '${f('slot')}' ]; then echo 'pg_receivewal: error: replication slot "bomnipotent_backup" does not exist' >&2; exit 1; fi`,
      `if [ -e '${f('fail')}' ]; then echo 'pg_receivewal: error: unexpected termination of replication stream' >&2; exit 1; fi`,
      `echo $$ > '${f('streamed.pid')}'`,
      'exec sleep 600',
      '',
    ].join('\n'),
  );
  chmodSync(program, 0o755);
  const logger = recordingLogger();
  stopping = new AbortController();
  receiver = startReceiver({
    program,
    slot: 'bomnipotent_backup',
    directory: folder,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
    logger,
    clock: systemClock(),
    signal: stopping.signal,
  });
  const creates = () =>
    existsSync(f('creates')) ? readFileSync(f('creates'), 'utf8').trim().split('\n').length : 0;
  const streaming = () =>
    until('pg_receivewal streaming', async () => existsSync(f('streamed.pid')) || undefined, 15_000);
  return { f, logger, creates, streaming, receiver };
}

describe('the receiver and a slot that is gone', { timeout: 30_000 }, () => {
  it('a pause and resume inside the wait after a failed run: the slot is created before the next stream', async () => {
    const { f, logger, creates, streaming, receiver } = start();
    writeFileSync(f('fail'), '');
    await until(
      'the failed run',
      async () => logger.lines.some((l) => /unexpected termination/.test(l)) || undefined,
    );
    expect(creates()).toBe(1);
    await receiver.pause(); // the guard: no child to end, the loop sleeps
    rmSync(f('slot')); // the guard drops the slot
    rmSync(f('fail'));
    receiver.resume(); // the capture loop, after sealing and a new base backup
    await streaming();
    expect(creates()).toBe(2);
    expect(logger.lines.filter((l) => /does not exist/.test(l))).toEqual([]);
  });

  it('a slot dropped by someone else: the next run creates it again', async () => {
    const { f, logger, creates, streaming } = start();
    await streaming();
    rmSync(f('slot')); // an administrator, or the server after invalidating it
    process.kill(Number(readFileSync(f('streamed.pid'), 'utf8')), 'SIGKILL');
    rmSync(f('streamed.pid'));
    await streaming();
    expect(creates()).toBe(2);
    expect(logger.lines.filter((l) => /does not exist/.test(l)).length).toBeLessThanOrEqual(1);
  });
});
