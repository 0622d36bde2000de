// Runs one process (no shell) and measures its wall clock from spawn to exit; the PostgreSQL tools' environment.
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';

export interface Timed {
  ms: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  /** Keep stdout (the client's answer); the tools' stdout is discarded. */
  captureStdout?: boolean;
  /** Called right after the spawn, e.g. to sample the child's memory. */
  onSpawn?: (pid: number) => void;
  /** Write stdout into this open file descriptor. */
  stdout?: number;
  /** Run as this OS user (root runs PostgreSQL's server programs as `postgres`). */
  as?: { uid?: number; gid?: number };
}

const STDERR_TAIL = 4096;

/** The connection for the tools: the machine's PostgreSQL as root with trust auth, unless PG* say otherwise. */
export function pgEnv(): NodeJS.ProcessEnv {
  return {
    ...process.env,
    PGHOST: process.env.PGHOST ?? '127.0.0.1',
    PGPORT: process.env.PGPORT ?? '5432',
    PGUSER: process.env.PGUSER ?? 'root',
  };
}

export function run(command: string, args: string[], options: RunOptions = {}): Promise<Timed> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(command, args, {
      env: options.env ?? pgEnv(),
      stdio: ['ignore', options.stdout ?? (options.captureStdout ? 'pipe' : 'ignore'), 'pipe'],
      ...options.as,
    });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr?.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-STDERR_TAIL)));
    child.once('error', reject);
    if (child.pid !== undefined) options.onSpawn?.(child.pid);
    child.once('close', (code, signal) =>
      resolve({ ms: performance.now() - started, code, signal, stdout, stderr }),
    );
  });
}

/** Like run, but a non-zero exit is an error that names the command and shows the end of its stderr. */
export async function runOk(command: string, args: string[], options: RunOptions = {}): Promise<Timed> {
  const result = await run(command, args, options);
  if (result.code !== 0) {
    throw new Error(
      `${command} ${args.join(' ')} failed (${result.signal ?? `exit ${result.code}`}): ${result.stderr.trim()}`,
    );
  }
  return result;
}
