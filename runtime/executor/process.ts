// Runs one PostgreSQL tool: no shell, an explicit environment, stdout streamed to a consumer, stderr kept bounded.
import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { AppError } from '../../handlers/errors';
import type { Logger } from '../../handlers/ports/logger';
import { maskSecrets } from '../observability/mask';

const STDERR_LIMIT = 8 * 1024;
const KILL_GRACE_MS = 5_000;

export interface ToolRequest {
  path: string; // absolute path of the executable
  args: readonly string[];
  env: Record<string, string>;
  logger: Logger;
  /** Receives stdout and must consume it with backpressure; stdout is discarded when absent. */
  consumeStdout?: (stdout: Readable) => Promise<void>;
  /**
   * Writes the child's stdin; a failure kills the child (SIGKILL) before its stdin closes, so that a tool which
   * commits at the end of its input never sees an end. stdin is /dev/null when absent.
   */
  feedStdin?: (stdin: Writable, kill: () => void) => Promise<void>;
  signal?: AbortSignal | undefined;
  timeoutMs?: number;
}

export interface ToolRun {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stderr: string; // the last 8 KiB, raw: may name hosts or users, so mask before showing it
  spawnError: NodeJS.ErrnoException | null;
  outputError: unknown; // the stdout consumer failed (for example ENOSPC)
  aborted: boolean;
  timedOut: boolean;
}

export type ToolOutcome =
  'ok' | 'not-found' | 'spawn-failed' | 'output-error' | 'aborted' | 'timed-out' | 'signal' | 'exit';

/** The single reason a run did not succeed, most specific first (our own kill explains a signal). */
export function classifyRun(run: ToolRun): ToolOutcome {
  if (run.spawnError) return run.spawnError.code === 'ENOENT' ? 'not-found' : 'spawn-failed';
  if (run.outputError !== undefined && run.outputError !== null) return 'output-error';
  if (run.aborted) return 'aborted';
  if (run.timedOut) return 'timed-out';
  if (run.signal) return 'signal';
  if (run.exitCode !== 0) return 'exit';
  return 'ok';
}

// Any local user can read a process's argv from /proc: a password there, in any spelling, is a leak.
const KEYWORD_PASSWORD = /\bpassword\s*=/i; // libpq keyword/value (`dbname=x password=y`) and URL query (`?password=`)
const URL_USERINFO_PASSWORD = /:\/\/[^/?#@\s]*:[^/?#@\s]*@/; // postgres://user:secret@host

/** The index of the first argument that carries a password, or -1; `--no-password` is the flag that forbids prompts. */
export function argumentWithPassword(args: readonly string[]): number {
  return args.findIndex((arg) => KEYWORD_PASSWORD.test(arg) || URL_USERINFO_PASSWORD.test(arg));
}

/** Refused before the spawn; the message names the position only, never the argument. */
function secretInArguments(name: string, args: readonly string[]): AppError | null {
  const leaking = argumentWithPassword(args);
  if (leaking < 0) return null;
  return new AppError(
    'EXECUTOR.SECRET_IN_ARGUMENTS',
    'failed',
    `Refusing to run ${name}: its argument ${leaking + 1} carries a password, which any local user could read.`,
    {
      suggestion: 'This is a bug: credentials must reach the tools through PGPASSFILE or the environment.',
    },
  );
}

/** Keeps the tail of stderr, streams stdout to its consumer and feeds stdin; settles when both streams are done. */
function pipeStreams(
  child: ChildProcess,
  request: ToolRequest,
  run: ToolRun,
  stop: () => void,
): Promise<unknown> {
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    run.stderr = (run.stderr + chunk).slice(-STDERR_LIMIT);
  });

  // Both the process and its stdout consumer must be done before the run is over.
  const consumed =
    request.consumeStdout && child.stdout
      ? request.consumeStdout(child.stdout).catch((error: unknown) => {
          run.outputError = error;
          stop();
        })
      : Promise.resolve();

  const fed =
    request.feedStdin && child.stdin
      ? request
          .feedStdin(child.stdin, () => child.kill('SIGKILL'))
          .catch((error: unknown) => {
            run.outputError = error;
            child.kill('SIGKILL');
          })
      : Promise.resolve();
  child.stdin?.on('error', () => {}); // EPIPE when the child exits first: its exit status tells why

  return Promise.all([consumed, fed]);
}

export function runTool(request: ToolRequest): Promise<ToolRun> {
  const name = request.path.split('/').pop() ?? request.path;
  const refused = secretInArguments(name, request.args);
  if (refused) return Promise.reject(refused);
  return new Promise<ToolRun>((resolve) => {
    const run: ToolRun = {
      exitCode: null,
      signal: null,
      stderr: '',
      spawnError: null,
      outputError: null,
      aborted: false,
      timedOut: false,
    };
    if (request.signal?.aborted) {
      run.aborted = true;
      resolve(run);
      return;
    }
    const child = spawn(request.path, [...request.args], {
      env: request.env,
      shell: false,
      stdio: [request.feedStdin ? 'pipe' : 'ignore', request.consumeStdout ? 'pipe' : 'ignore', 'pipe'],
    });

    let killTimer: NodeJS.Timeout | undefined;
    const stop = () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      killTimer ??= setTimeout(() => child.kill('SIGKILL'), KILL_GRACE_MS);
    };
    const onAbort = () => {
      run.aborted = true;
      stop();
    };
    request.signal?.addEventListener('abort', onAbort, { once: true });
    const timeout =
      request.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            run.timedOut = true;
            stop();
          }, request.timeoutMs);

    const piped = pipeStreams(child, request, run, stop);

    let spawned = false;
    child.once('spawn', () => (spawned = true));
    child.once('error', (error: NodeJS.ErrnoException) => {
      if (!spawned) run.spawnError = error;
    });
    child.once('close', (code, signal) => {
      run.exitCode = code;
      run.signal = signal;
      void piped.then(() => {
        clearTimeout(timeout);
        clearTimeout(killTimer);
        request.signal?.removeEventListener('abort', onAbort);
        const outcome = classifyRun(run);
        request.logger.debug(
          `${name} ${outcome === 'ok' ? 'finished' : `failed (${outcome}, exit ${String(code)}, signal ${String(signal)})`}` +
            (run.stderr.trim() ? `; stderr:\n${maskSecrets(run.stderr.trimEnd())}` : ''),
        );
        resolve(run);
      });
    });
  });
}

/** The line of stderr worth showing: the first error, else the last non-empty line; null when stderr is empty. */
export function usefulStderrLine(stderr: string): string | null {
  const lines = stderr
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '');
  const error = lines.find((l) => /\b(ERROR|FATAL|PANIC):|\berror:/.test(l));
  const line = error ?? lines[lines.length - 1] ?? null;
  return line === null ? null : maskSecrets(line).slice(0, 500);
}

const UNREACHABLE =
  /could not connect|connection refused|is the server running|could not translate host name|timeout expired|no route to host|network is unreachable|server closed the connection unexpectedly/i;

export function looksUnreachable(stderr: string): boolean {
  return UNREACHABLE.test(stderr);
}
