// pg_receivewal for continuous protection: streams the WAL through the replication slot (created when missing) into
// the incoming folder, flushing every record (--synchronous), and starts again 5 s after it stops. pause() ends it
// (SIGKILL: also when it hangs or was stopped with SIGSTOP) and keeps it ended until resume(), which creates the
// slot anew first: what the cap on held-back WAL needs to drop the slot under it.
import { spawn, type ChildProcess } from 'node:child_process';
import type { Clock } from '../../handlers/ports/clock';
import type { Logger } from '../../handlers/ports/logger';
import { runTool, usefulStderrLine } from '../executor/process';
import { maskSecrets } from '../observability/mask';

export const RESTART_AFTER_MS = 5_000;

export interface Receiver {
  /** Settles when the receiver is stopped for good (the signal aborted). */
  running: Promise<void>;
  pause(): Promise<void>;
  resume(): void;
}

export function startReceiver(options: {
  program: string;
  slot: string;
  directory: string;
  env: Record<string, string>;
  logger: Logger;
  clock: Clock;
  signal: AbortSignal;
}): Receiver {
  const { program, slot, logger, clock, signal } = options;
  const slotArgs = [`--slot=${slot}`, '--no-password'];
  let child: ChildProcess | undefined;
  let exited: Promise<unknown> = Promise.resolve();
  let paused: { promise: Promise<void>; resume: () => void } | undefined;
  signal.addEventListener('abort', () => {
    paused?.resume();
    child?.kill('SIGKILL');
  });

  const createSlot = async () => {
    const created = await runTool({
      path: program,
      args: ['--create-slot', '--if-not-exists', ...slotArgs],
      env: options.env,
      logger,
    });
    if (created.exitCode !== 0)
      throw new Error(
        `the replication slot ${slot} cannot be created: ${usefulStderrLine(created.stderr) ?? 'no message'}`,
      );
  };

  const streamOnce = async (): Promise<number | null> => {
    let stderr = '';
    const proc = spawn(program, ['-D', options.directory, ...slotArgs, '--synchronous', '--no-loop'], {
      env: options.env,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    child = proc;
    proc.stderr.setEncoding('utf8');
    proc.stderr.on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-4096)));
    exited = new Promise<number | null>((resolve) => {
      proc.once('error', () => resolve(-1));
      proc.once('close', (exit) => resolve(exit));
    });
    const code = (await exited) as number | null;
    child = undefined;
    if (signal.aborted || paused) return null;
    logger.error(
      `Continuous protection: pg_receivewal stopped (exit ${String(code)}): ${maskSecrets(usefulStderrLine(stderr) ?? 'no message')}. It restarts in ${RESTART_AFTER_MS / 1000} s; logical backups go on.`,
    );
    return code;
  };

  const run = async () => {
    let needSlot = true;
    while (!signal.aborted) {
      if (paused) {
        await paused.promise;
        needSlot = true;
        continue;
      }
      const started = clock.elapsedMs();
      try {
        if (needSlot) await createSlot();
        needSlot = false;
        if (paused || (await streamOnce()) === null) continue;
      } catch (error) {
        logger.error(
          `Continuous protection: ${error instanceof Error ? error.message : String(error)}; retried in ${RESTART_AFTER_MS / 1000} s.`,
        );
      }
      if (clock.elapsedMs() - started < RESTART_AFTER_MS) await clock.sleep(RESTART_AFTER_MS, signal);
    }
  };

  return {
    running: run(),
    async pause() {
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
