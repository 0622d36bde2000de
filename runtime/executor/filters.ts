// The stream stages between pg_dump and the file, and between the file and psql: zstd and age as child processes
// (no shell, explicit environment, bounded stderr), gzip through node:zlib. Each stage streams: memory stays flat.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { Duplex } from 'node:stream';
import { createGunzip, createGzip } from 'node:zlib';
import { AppError } from '../../handlers/errors';
import type { Compression } from '../../handlers/backup/naming';
import { maskSecrets } from '../observability/mask';
import type { ExecutorContext } from './executor-context';
import { findTool, helperSearchPath } from './tools';
import { writeToChild } from './child-input';

const STDERR_LIMIT = 4 * 1024;
/** How long a stopped child has after SIGTERM before SIGKILL. */
const KILL_GRACE_MS = 5_000;
/** zstd level 1: ~1 GB/s on one core, faster than pg_dump produces; higher levels make the backup CPU-bound. */
export const ZSTD_LEVEL = 1;

export type HelperTool = 'zstd' | 'age';

export interface Stage {
  stream: Duplex;
  /** Resolves when the stage has ended cleanly; rejects with an AppError that names the tool and what it said. */
  done: Promise<void>;
  /** Stops a child stage (the pipeline failed elsewhere). */
  stop(): void;
}

export function helperMissing(tool: HelperTool, where: string): AppError {
  const fix =
    tool === 'zstd'
      ? 'Install zstd (Debian: apt-get install zstd), or set compression = "gzip" in the database_backup task.'
      : 'Install age (Debian: apt-get install age), or remove encryption_recipients from the database_backup task.';
  return new AppError('EXECUTOR.TOOL_NOT_FOUND', 'misconfigured', `${tool} was not found ${where}.`, {
    suggestion: fix,
    details: { tool },
  });
}

/** zstd and age come from the executor's tool directory when set, else from PATH. */
export async function requireHelper(context: ExecutorContext, tool: HelperTool): Promise<string> {
  const found = await findTool(tool, helperSearchPath(context.lookup));
  if (!found)
    throw helperMissing(
      tool,
      context.lookup.toolDirectory ? `in ${context.lookup.toolDirectory} or on PATH` : 'on PATH',
    );
  return found;
}

/**
 * A child's stdin and stdout as one Duplex whose destruction ends both pipes and the child. Duplex.from() over the
 * pair leaves stdout open when the pipeline fails elsewhere: a child with more output then blocks on a full pipe,
 * never exits, and whatever waits for it (verify, a restore holding the backup lock) waits for ever.
 */
class ChildDuplex extends Duplex {
  constructor(
    private readonly child: ChildProcessWithoutNullStreams,
    private readonly stopChild: () => void,
  ) {
    super({ highWaterMark: 1024 * 1024 });
    child.stdout.on('data', (chunk: Buffer) => {
      if (!this.push(chunk)) child.stdout.pause();
    });
    child.stdout.once('end', () => this.push(null));
    child.stdout.once('error', (error) => this.destroy(error));
  }

  override _read(): void {
    this.child.stdout.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    writeToChild(this.child.stdin, this.child.spawnfile, chunk, callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    // An early exit (EPIPE) is reported through the child's exit status, not here.
    this.child.stdin.end(() => callback());
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.stopChild();
    this.child.stdin.destroy();
    this.child.stdout.destroy();
    callback(error);
  }
}

/** A child process as a stream stage: bytes in through stdin, out through stdout. */
export function processStage(
  path: string,
  args: readonly string[],
  env: Record<string, string>,
  describe: (stderr: string, code: number | null) => AppError,
): Stage {
  const child = spawn(path, [...args], { env, shell: false, stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  let stopped = false;
  let killTimer: NodeJS.Timeout | undefined;
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-STDERR_LIMIT);
  });
  // EPIPE on stdin when the child exits early is reported through its exit code, not as a crash.
  child.stdin.on('error', () => {});
  const stop = () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    // All of its output read: it is exiting on its own, and its exit status says whether the stage failed.
    if (!child.stdout.readableEnded) {
      stopped = true;
      child.kill('SIGTERM');
    }
    killTimer ??= setTimeout(() => child.kill('SIGKILL'), KILL_GRACE_MS);
  };
  const done = new Promise<void>((resolve, reject) => {
    child.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        error.code === 'ENOENT' ? helperMissing(path.split('/').pop() as HelperTool, `at ${path}`) : error,
      ),
    );
    // 'exit', not 'close': stderr may still be open in a grandchild, and a stopped stage's stdout is already gone.
    child.once('exit', (code, signal) => {
      clearTimeout(killTimer);
      if (code === 0) return resolve();
      // Stopped because the pipeline failed elsewhere (our kill, or the pipe we closed): that failure is the reason.
      if (stopped && (signal !== null || /broken pipe|EPIPE/i.test(stderr))) return resolve();
      // Let the last of stderr arrive (it is what explains the failure), but never wait on it for long.
      const settle = () => reject(describe(maskSecrets(stderr), code));
      if (child.stderr.readableEnded) return settle();
      const timer = setTimeout(settle, 1_000);
      child.stderr.once('close', () => {
        clearTimeout(timer);
        settle();
      });
    });
  });
  done.catch(() => {}); // observed by the caller
  return { stream: new ChildDuplex(child, stop), done, stop };
}

/** A stage in this process (node:zlib): its own errors carry a zlib code (Z_DATA_ERROR, Z_BUF_ERROR ...). */
function nodeStage(stream: Duplex): Stage {
  const done = new Promise<void>((resolve, reject) => {
    stream.once('end', resolve);
    // Destroyed because the pipeline failed elsewhere: that failure is the reason, not this stage.
    stream.once('error', (error: NodeJS.ErrnoException) =>
      typeof error.code === 'string' && error.code.startsWith('Z_') ? reject(error) : resolve(),
    );
    stream.once('close', resolve);
  });
  done.catch(() => {});
  return { stream, done, stop: () => stream.destroy() };
}

function firstLine(stderr: string): string {
  return (
    stderr
      .split(/\r?\n/)
      .map((l) => l.trim())
      .find((l) => l !== '') ?? 'no message'
  ).slice(0, 300);
}

export function failedStage(code: string, what: string, stderr: string, suggestion: string): AppError {
  return new AppError(code, 'failed', `${what}: ${firstLine(stderr)}.`, { suggestion });
}

export async function compressStage(
  context: ExecutorContext,
  compression: Compression,
  env: Record<string, string>,
): Promise<Stage | null> {
  if (compression === 'none') return null;
  if (compression === 'gzip') return nodeStage(createGzip({ level: 1 }));
  const zstd = await requireHelper(context, 'zstd');
  return processStage(zstd, [`-${ZSTD_LEVEL}`, '-q', '-c', '-'], env, (stderr) =>
    failedStage(
      'EXECUTOR.DUMP_FAILED',
      'zstd failed while compressing the dump',
      stderr,
      'Check the server log and try again.',
    ),
  );
}

export async function decompressStage(
  context: ExecutorContext,
  compression: Compression,
  env: Record<string, string>,
  file: string,
): Promise<Stage | null> {
  if (compression === 'none') return null;
  const damaged = (stderr: string) =>
    failedStage(
      'EXECUTOR.BACKUP_DAMAGED',
      `The backup ${file} does not decompress`,
      stderr,
      'The file is damaged; restore another backup by name with --file <name>.',
    );
  if (compression === 'gzip') {
    const gunzip = createGunzip();
    const stage = nodeStage(gunzip);
    return { ...stage, done: stage.done.catch((error: Error) => Promise.reject(damaged(error.message))) };
  }
  const zstd = await requireHelper(context, 'zstd');
  return processStage(zstd, ['-d', '-q', '-c', '-'], env, damaged);
}

export async function encryptStage(
  context: ExecutorContext,
  recipients: readonly string[],
  env: Record<string, string>,
): Promise<Stage | null> {
  if (recipients.length === 0) return null;
  const age = await requireHelper(context, 'age');
  const args = recipients.flatMap((r) => ['-r', r]);
  return processStage(age, args, env, (stderr) =>
    failedStage(
      'EXECUTOR.DUMP_FAILED',
      'age failed while encrypting the dump',
      stderr,
      'Check encryption_recipients (age1... keys).',
    ),
  );
}

export async function decryptStage(
  context: ExecutorContext,
  identityFile: string | undefined,
  env: Record<string, string>,
  file: string,
): Promise<Stage> {
  if (!identityFile) {
    throw new AppError(
      'BACKUP.IDENTITY_MISSING',
      'misconfigured',
      `The backup ${file} is encrypted and no encryption_identity_file is set.`,
      {
        suggestion:
          'Set encryption_identity_file in the database_backup task to the age identity (AGE-SECRET-KEY-...) of one of its recipients.',
      },
    );
  }
  const age = await requireHelper(context, 'age');
  return processStage(age, ['-d', '-i', identityFile], env, (stderr) =>
    failedStage(
      'EXECUTOR.DECRYPT_FAILED',
      `The backup ${file} cannot be decrypted with ${identityFile}`,
      stderr,
      'Set encryption_identity_file to the age identity of one of the recipients this backup was encrypted for.',
    ),
  );
}

/** The environment helper tools get: a PATH and a locale, nothing of the database's. */
export function helperEnv(source: NodeJS.ProcessEnv): Record<string, string> {
  const env: Record<string, string> = { PATH: source.PATH ?? '/usr/bin:/bin', LANG: 'C' };
  if (source.HOME) env.HOME = source.HOME;
  return env;
}
