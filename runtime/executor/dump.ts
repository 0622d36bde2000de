// pg_dump into `.<file>.partial`, hashed on the way, fsynced, checked, described, then renamed: all or nothing.
import { open, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { BackupMetadata, BackupMetadataSeed } from '../../handlers/ports';
import { isAppError } from '../../handlers/errors';
import { isBackupFileName } from '../../handlers/backup/naming';
import { freeBytes } from './catalog';
import { requireTool, type ExecutorContext } from './context';
import { ensureDirectory, notWritableReason, sweepStaleFiles } from './directory';
import { checkDumpComplete, HashingPassThrough, ProgressiveSync } from './dump-file';
import { fileSystemDurability } from './durability';
import {
  EXECUTOR_ERRORS,
  cancelled,
  databaseUnreachable,
  directoryNotWritable,
  diskFull,
  dumpIncomplete,
  fileExists,
  installHint,
  invalidName,
  toolFailed,
  toolKilled,
  toolNotFound,
  writeFailed,
} from './errors';
import { writeMetadata } from './metadata';
import { prepareToolEnvironment } from './pg-env';
import { ProgressTap } from './progress-tap';
import { classifyRun, looksUnreachable, runTool, usefulStderrLine, type ToolRun } from './process';
import { majorOf, readToolVersion } from './tools';

export interface DumpRequest {
  directory: string;
  file: string;
  seed: BackupMetadataSeed;
  signal?: AbortSignal | undefined;
  onProgress?: ((bytesWritten: number) => void) | undefined;
}

function isDiskFull(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT';
}

/** Any file-system failure while writing, as the EXECUTOR.* error an administrator can act on. */
async function fileSystemError(error: unknown, directory: string, written: number): Promise<unknown> {
  if (isAppError(error)) return error;
  if (isDiskFull(error)) return diskFull(directory, await freeBytes(directory).catch(() => null), written);
  const reason = notWritableReason(error);
  if (reason) return directoryNotWritable(directory, reason);
  return writeFailed(directory, error);
}

async function pathExists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

async function sizeOnDisk(path: string): Promise<number> {
  return stat(path).then(
    (info) => info.size,
    () => 0,
  );
}

async function openPartial(path: string, finalPath: string): Promise<FileHandle> {
  try {
    return await open(path, 'wx', 0o600);
  } catch (error) {
    // Someone is writing this very name right now.
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw fileExists(finalPath);
    throw error;
  }
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

export async function dumpDatabase(context: ExecutorContext, request: DumpRequest): Promise<BackupMetadata> {
  const { file, seed } = request;
  if (!isBackupFileName(file)) throw invalidName('backup file name', file);
  const directory = resolve(request.directory);
  await ensureDirectory(directory);
  await sweepStaleFiles(directory, context.startedAtMs, context.logger);
  const finalPath = join(directory, file);
  const partialPath = join(directory, `.${file}.partial`);
  if (await pathExists(finalPath)) throw fileExists(finalPath);

  const serverMajor = majorOf(seed.serverVersion) ?? context.serverMajor;
  const pgDump = await requireTool(context, 'pg_dump', serverMajor);
  const toolEnv = await prepareToolEnvironment(
    context.connection,
    context.sourceEnv,
    context.connection.database,
  );
  const durability = context.durability ?? fileSystemDurability;
  const hasher = new HashingPassThrough();
  const started = Date.now();
  let partialCreated = false;
  let metadataPath: string | null = null;
  let renamed = false;
  try {
    const pgDumpVersion = await readToolVersion(pgDump, toolEnv.env, context.logger);
    if (pgDumpVersion === null) {
      throw toolFailed(
        EXECUTOR_ERRORS.DUMP_FAILED,
        `${pgDump} --version did not report a PostgreSQL version`,
        null,
      );
    }
    const handle = await openPartial(partialPath, finalPath);
    partialCreated = true;
    const run = await runTool({
      path: pgDump,
      args: ['--format=plain', '--no-password'],
      env: toolEnv.env,
      logger: context.logger,
      signal: request.signal,
      // Backpressure end to end: pg_dump blocks on its pipe while the disk catches up; nothing is buffered here.
      // The write stream owns the handle and closes it, also when the pipeline fails.
      consumeStdout: (stdout) =>
        pipeline(
          stdout,
          hasher,
          new ProgressTap(request.onProgress),
          new ProgressiveSync(handle),
          handle.createWriteStream(),
        ),
    });
    if (classifyRun(run) !== 'ok') throw runError(run, pgDump, serverMajor);
    await durability.syncFile(partialPath);

    const onDisk = (await stat(partialPath)).size;
    if (onDisk !== hasher.bytes)
      throw dumpIncomplete(`${onDisk} bytes on disk but ${hasher.bytes} were written`);
    const problem = await checkDumpComplete(partialPath);
    if (problem) throw dumpIncomplete(problem);

    const metadata: BackupMetadata = {
      format: 'bomnipotent-backup/1',
      file,
      sha256: hasher.digest(),
      sizeBytes: hasher.bytes,
      database: seed.database,
      serverVersion: seed.serverVersion,
      pgDumpVersion,
      schemaVersion: seed.schemaVersion,
      appVersion: seed.appVersion,
      startedAt: seed.startedAt,
      durationMs: Date.now() - started,
      trigger: seed.trigger,
      user: seed.user,
    };
    metadataPath = await writeMetadata(directory, metadata);
    await rename(partialPath, finalPath);
    renamed = true;
    await durability.syncDirectory(directory);
    context.logger.debug(`pg_dump wrote ${hasher.bytes} bytes to ${finalPath} in ${metadata.durationMs} ms.`);
    return metadata;
  } catch (error) {
    // What reached the disk, not what pg_dump produced: buffers between them are never written on a full disk.
    const onDisk = partialCreated ? await sizeOnDisk(partialPath) : 0;
    // Nothing of a failed dump stays behind, least of all under a name that "latest" could pick.
    if (partialCreated) await rm(partialPath, { force: true }).catch(() => {});
    if (renamed) await rm(finalPath, { force: true }).catch(() => {});
    if (metadataPath) await rm(metadataPath, { force: true }).catch(() => {});
    throw await fileSystemError(error, directory, onDisk);
  } finally {
    await toolEnv.dispose();
  }
}
