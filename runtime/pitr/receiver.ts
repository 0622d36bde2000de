// pg_receivewal for continuous protection: streams the WAL through the replication slot (created when missing) into
// the incoming folder, flushing every record (--synchronous), and starts again 5 s after it stops. Before each start a
// .partial cut short by a kill is padded (partial.ts), or pg_receivewal would refuse it on every restart; when the
// server no longer has the WAL after the resume point (resume-point.ts), the resume point is dropped. pause() ends
// it (SIGKILL: also when it hangs or was stopped with SIGSTOP) and keeps it ended until resume(), which creates the
// slot anew first: what the cap on held-back WAL needs to drop the slot under it.
import { spawn, type ChildProcess } from 'node:child_process';
import type { Clock } from '../../handlers/ports/clock';
import type { Logger } from '../../handlers/ports/logger';
import { runTool, usefulStderrLine } from '../executor/process';
import { maskSecrets } from '../observability/mask';
import { completeCutPartials } from './partial';
import { dropResumePoints } from './resume-point';

export const RESTART_AFTER_MS = 5_000;

/** The server cannot stream from where incoming says to resume: the WAL is gone, or it is another, younger server. */
const RESUME_POINT_GONE = /has already been removed|ahead of the WAL flush position/;
/** The slot is gone (dropped by the guard, by an administrator, or invalidated and dropped): create it again. */
const SLOT_GONE = /replication slot "[^"]*" does not exist/;

export interface Receiver {
  /** Settles when the receiver is stopped for good (the signal aborted). */
  running: Promise<void>;
  pause(): Promise<void>;
  resume(): void;
}

interface ReceiverOptions {
  program: string;
  slot: string;
  directory: string;
  env: Record<string, string>;
  logger: Logger;
  clock: Clock;
  signal: AbortSignal;
}

const slotArgs = (slot: string) => [`--slot=${slot}`, '--no-password'];
const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

async function createSlot(options: ReceiverOptions): Promise<void> {
  const created = await runTool({
    path: options.program,
    args: ['--create-slot', '--if-not-exists', ...slotArgs(options.slot)],
    env: options.env,
    logger: options.logger,
  });
  if (created.exitCode !== 0)
    throw new Error(
      `the replication slot ${options.slot} cannot be created: ${usefulStderrLine(created.stderr) ?? 'no message'}`,
    );
}

/** One pg_receivewal run: `started` gets the child at once; resolves with its exit code and last stderr. */
function streamOnce(
  options: ReceiverOptions,
  started: (child: ChildProcess) => void,
): Promise<{ code: number | null; stderr: string }> {
  const args = ['-D', options.directory, ...slotArgs(options.slot), '--synchronous', '--no-loop'];
  const proc = spawn(options.program, args, { env: options.env, stdio: ['ignore', 'ignore', 'pipe'] });
  started(proc);
  let stderr = '';
  proc.stderr.setEncoding('utf8');
  proc.stderr.on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-4096)));
  return new Promise((resolve) => {
    proc.once('error', () => resolve({ code: -1, stderr }));
    proc.once('close', (code) => resolve({ code, stderr }));
  });
}

export function startReceiver(options: ReceiverOptions): Receiver {
  const { logger, clock, signal } = options;
  let child: ChildProcess | undefined;
  let exited: Promise<unknown> = Promise.resolve();
  let paused: { promise: Promise<void>; resume: () => void } | undefined;
  // Whether the slot must be created before the next stream: at the start, after every pause (its purpose is to drop
  // the slot, and the pause may come and go while the loop sleeps after a failed run) and when the server says the
  // slot does not exist.
  let needSlot = true;
  signal.addEventListener('abort', () => {
    paused?.resume();
    child?.kill('SIGKILL');
  });

  /** Runs pg_receivewal once; false when it was ended on purpose (stop or pause). */
  const runOnce = async (): Promise<boolean> => {
    await completeCutPartials(options.directory, logger);
    // Stopped or paused meanwhile (also while the slot was being created): start nothing that no one would end.
    if (signal.aborted || paused) return false;
    const run = streamOnce(options, (proc) => (child = proc));
    exited = run;
    const { code, stderr } = await run;
    child = undefined;
    if (signal.aborted || paused) return false;
    if (SLOT_GONE.test(stderr)) needSlot = true;
    if (RESUME_POINT_GONE.test(stderr)) {
      await dropResumePoints(options.directory);
      logger.warn(
        `Continuous protection: the server no longer has the WAL after the segment pg_receivewal would resume from (${maskSecrets(usefulStderrLine(stderr) ?? 'no message')}); it streams from the server's current position instead, and the gap starts a new window.`,
      );
    }
    logger.error(
      `Continuous protection: pg_receivewal stopped (exit ${String(code)}): ${maskSecrets(usefulStderrLine(stderr) ?? 'no message')}. It restarts in ${RESTART_AFTER_MS / 1000} s; logical backups go on.`,
    );
    return true;
  };

  const run = async () => {
    while (!signal.aborted) {
      if (paused) {
        await paused.promise;
        continue;
      }
      const started = clock.elapsedMs();
      try {
        if (needSlot) {
          needSlot = false; // before, so that a pause during the creation asks for it again
          await createSlot(options).catch((error: unknown) => {
            needSlot = true;
            throw error;
          });
        }
        if (paused || !(await runOnce())) continue;
      } catch (error) {
        logger.error(`Continuous protection: ${messageOf(error)}; retried in ${RESTART_AFTER_MS / 1000} s.`);
      }
      if (clock.elapsedMs() - started < RESTART_AFTER_MS) await clock.sleep(RESTART_AFTER_MS, signal);
    }
  };

  return {
    running: run(),
    async pause() {
      needSlot = true;
      if (!paused) {
        let resume = () => {};
        const promise = new Promise<void>((resolve) => (resume = resolve));
        paused = { promise, resume };
      }
      child?.kill('SIGKILL');
      await exited;
    },
    resume() {
      const current = paused;
      paused = undefined;
      current?.resume();
    },
  };
}
