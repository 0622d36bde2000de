// What a failed dump is called: pg_dump's own failure, or the file system's, as the EXECUTOR.* error an administrator
// can act on.
import { isAppError } from '../../handlers/errors';
import { freeBytes } from './catalog';
import { notWritableReason } from './directory';
import {
  EXECUTOR_ERRORS,
  cancelled,
  databaseUnreachable,
  directoryNotWritable,
  diskFull,
  installHint,
  toolFailed,
  toolKilled,
  toolNotFound,
  writeFailed,
} from './errors';
import { classifyRun, looksUnreachable, usefulStderrLine, type ToolRun } from './process';

function isDiskFull(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT';
}

/** Any file-system failure while writing, as the EXECUTOR.* error an administrator can act on. */
export async function fileSystemError(error: unknown, directory: string, written: number): Promise<unknown> {
  if (isAppError(error)) return error;
  if (isDiskFull(error)) return diskFull(directory, await freeBytes(directory).catch(() => null), written);
  const reason = notWritableReason(error);
  if (reason) return directoryNotWritable(directory, reason);
  return writeFailed(directory, error);
}

/**
 * Throws what went wrong with pg_dump's run, if anything did. pg_dump's own failure (exit, cancel, a signal we did not send)
 * explains more than the incomplete output it leaves behind; any other output failure (disk full) explains more than
 * the broken pipe it causes.
 */
export function throwIfDumpFailed(run: ToolRun, pgDumpPath: string, serverMajor: number | null): void {
  const toolOnly = { ...run, outputError: null };
  const toolOutcome = classifyRun(toolOnly);
  const incomplete = isAppError(run.outputError) && run.outputError.code === EXECUTOR_ERRORS.DUMP_INCOMPLETE;
  const toolFailedFirst =
    toolOutcome === 'exit' ||
    toolOutcome === 'aborted' ||
    toolOutcome === 'timed-out' ||
    (toolOutcome === 'signal' && run.signal !== 'SIGTERM');
  if (incomplete && toolFailedFirst) throw runError(toolOnly, pgDumpPath, serverMajor);
  if (classifyRun(run) !== 'ok') throw runError(run, pgDumpPath, serverMajor);
}

function runError(run: ToolRun, pgDumpPath: string, serverMajor: number | null): unknown {
  const line = usefulStderrLine(run.stderr);
  switch (classifyRun(run)) {
    case 'not-found':
      return toolNotFound('pg_dump', `at ${pgDumpPath}`, serverMajor);
    case 'output-error':
      return run.outputError;
    case 'aborted':
    case 'timed-out':
      return cancelled('backup');
    case 'signal':
      return toolKilled(EXECUTOR_ERRORS.DUMP_KILLED, 'pg_dump', run.signal ?? 'unknown');
    case 'spawn-failed':
      return toolFailed(
        EXECUTOR_ERRORS.DUMP_FAILED,
        `pg_dump could not be started (${run.spawnError?.code})`,
        null,
      );
    default:
      if (looksUnreachable(run.stderr)) return databaseUnreachable('pg_dump', line);
      return toolFailed(
        EXECUTOR_ERRORS.DUMP_FAILED,
        `pg_dump exited with code ${run.exitCode}`,
        line,
        /server version mismatch/i.test(run.stderr) ? `${installHint(serverMajor)}.` : undefined,
      );
  }
}
