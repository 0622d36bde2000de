// pg_dump, checked, compressed (and encrypted) into `.<file>.partial`, hashed on the way, fsynced, signed, renamed,
// then the signed manifest as the commit marker: all or nothing.
import { open, readdir, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { BackupMetadataSeed, CatalogEntry, DumpOptions } from '../../handlers/backup/model';
import type { ManifestSigner } from '../../handlers/ports/manifest-signer';
import { isAppError } from '../../handlers/errors';
import { MANIFEST_FORMAT, manifestDigest, type BackupManifest } from '../../handlers/backup/manifest';
import {
  backupFileName,
  dataFileSuffix,
  isBackupFileName,
  manifestFileName,
} from '../../handlers/backup/naming';
import { freeBytes, listCatalog } from './catalog';
import { requireTool, type ExecutorContext } from './executor-context';
import { ensureDirectory, notWritableReason, sweepStaleFiles } from './directory';
import { HashingPassThrough, ProgressiveSync } from './dump-file';
import { fileSystemDurability, type Durability } from './durability';
import { DumpGuard, DumpStructureError } from './dump-guard';
import { compressStage, encryptStage, helperEnv, type Stage } from './filters';
import { pgDumpWritesRestrict } from './tool-versions';
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
import { prepareToolEnvironment } from './pg-env';
import { ProgressTap } from './progress-tap';
import { classifyRun, looksUnreachable, runTool, usefulStderrLine, type ToolRun } from './process';
import { majorOf, readToolVersion } from './tools';

export interface DumpRequest {
  directory: string;
  seed: BackupMetadataSeed;
  options: DumpOptions;
  minSequence: number;
  signer: ManifestSigner;
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

/** The chain link of the next backup: after the newest manifest this key signed for the database. */
function nextLink(
  entries: readonly CatalogEntry[],
  database: string,
  minSequence: number,
): { sequence: number; previous: string | null } {
  let newest: BackupManifest | null = null;
  for (const entry of entries) {
    const m = entry.manifest;
    if (m && m.database === database && (newest === null || m.sequence > newest.sequence)) newest = m;
  }
  const sequence = Math.max(minSequence, (newest?.sequence ?? 0) + 1);
  return { sequence, previous: newest ? manifestDigest(newest) : null };
}

export async function dumpDatabase(context: ExecutorContext, request: DumpRequest): Promise<CatalogEntry> {
  const { seed, options, signer } = request;
  const directory = resolve(request.directory);
  await ensureDirectory(directory);
  await sweepStaleFiles(directory, context.startedAtMs, context.logger);
  // Only this key's own manifests form its chain; nothing but manifests is read.
  const catalog = await listCatalog(directory, { trustedKeys: [signer.publicKey] });
  const link = nextLink(catalog, seed.database, request.minSequence);
  const encrypted = options.encryptionRecipients.length > 0;
  const file = backupFileName(
    seed.database,
    new Date(seed.startedAt),
    (await readdir(directory)).map((n) => n.replace(/^\./, '').replace(/\.partial$/, '')),
    dataFileSuffix(options.compression, encrypted),
  );
  if (!isBackupFileName(file)) throw invalidName('backup file name', file);
  const finalPath = join(directory, file);
  const partialPath = join(directory, `.${file}.partial`);
  if (await pathExists(finalPath)) throw fileExists(finalPath);

  const serverMajor = majorOf(seed.serverVersion) ?? context.serverMajor;
  const pgDump = await requireTool(context, 'pg_dump', serverMajor);
  const helperEnvironment = helperEnv(context.sourceEnv);
  const toolEnv = await prepareToolEnvironment(
    context.connection,
    context.sourceEnv,
    context.connection.database,
  );
  const durability = context.durability ?? fileSystemDurability;
  const hasher = new HashingPassThrough();
  const started = Date.now();
  let partialCreated = false;
  let manifestPath: string | null = null;
  let renamed = false;
  const stages: Stage[] = [];
  try {
    const pgDumpVersion = await readToolVersion(pgDump, toolEnv.env, context.logger);
    if (pgDumpVersion === null) {
      throw toolFailed(
        EXECUTOR_ERRORS.DUMP_FAILED,
        `${pgDump} --version did not report a PostgreSQL version`,
        null,
      );
    }
    const compress = await compressStage(context, options.compression, helperEnvironment);
    if (compress) stages.push(compress);
    const encrypt = await encryptStage(context, options.encryptionRecipients, helperEnvironment);
    if (encrypt) stages.push(encrypt);
    // The structure every restore will demand is checked on the way in, before a byte is compressed.
    const guard = new DumpGuard({ requireRestrict: pgDumpWritesRestrict(pgDumpVersion) });
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
        pipeline([
          stdout,
          guard,
          new ProgressTap(request.onProgress),
          ...stages.map((s) => s.stream),
          hasher,
          new ProgressiveSync(handle),
          handle.createWriteStream(),
        ]).catch((error: unknown) => {
          for (const stage of stages) stage.stop();
          throw error instanceof DumpStructureError ? dumpIncomplete(error.message) : error;
        }),
    });
    // pg_dump's own failure (exit, cancel, a signal we did not send) explains more than the incomplete output it
    // leaves behind; any other output failure (disk full) explains more than the broken pipe it causes.
    const toolOnly = { ...run, outputError: null };
    const toolOutcome = classifyRun(toolOnly);
    const incomplete =
      isAppError(run.outputError) && run.outputError.code === EXECUTOR_ERRORS.DUMP_INCOMPLETE;
    const toolFailedFirst =
      toolOutcome === 'exit' ||
      toolOutcome === 'aborted' ||
      toolOutcome === 'timed-out' ||
      (toolOutcome === 'signal' && run.signal !== 'SIGTERM');
    if (incomplete && toolFailedFirst) throw runError(toolOnly, pgDump, serverMajor);
    if (classifyRun(run) !== 'ok') throw runError(run, pgDump, serverMajor);
    await Promise.all(stages.map((s) => s.done));
    await durability.syncFile(partialPath);

    const onDisk = (await stat(partialPath)).size;
    if (onDisk !== hasher.bytes)
      throw dumpIncomplete(`${onDisk} bytes on disk but ${hasher.bytes} were written`);

    const manifest: BackupManifest = {
      format: MANIFEST_FORMAT,
      file,
      sizeBytes: hasher.bytes,
      sha256: hasher.digest(),
      database: seed.database,
      createdAt: seed.startedAt,
      durationMs: Date.now() - started,
      serverVersion: seed.serverVersion,
      pgDumpVersion,
      schemaVersion: seed.schemaVersion,
      appVersion: seed.appVersion,
      compression: options.compression,
      encryption: encrypted ? { scheme: 'age', recipients: [...options.encryptionRecipients] } : null,
      restricted: guard.restricted,
      sequence: link.sequence,
      previousManifestSha256: link.previous,
      trigger: seed.trigger,
      user: seed.user,
    };
    // Signed before anything is visible: a signer that fails leaves only the partial file, which is removed.
    const manifestText = await signer.sign(manifest);
    await rename(partialPath, finalPath);
    renamed = true;
    await durability.syncDirectory(directory);
    // The manifest is the commit marker: written last, durably.
    manifestPath = join(directory, manifestFileName(file));
    await writeDurably(durability, directory, manifestFileName(file), manifestText);
    context.logger.debug(`pg_dump wrote ${hasher.bytes} bytes to ${finalPath} in ${manifest.durationMs} ms.`);
    return {
      file,
      path: finalPath,
      sizeBytes: hasher.bytes,
      state: 'trusted',
      reason: null,
      manifest,
      legacy: null,
    };
  } catch (error) {
    for (const stage of stages) stage.stop();
    // Nothing of a failed dump stays behind, least of all under a name that "latest" could pick.
    if (manifestPath) await rm(manifestPath, { force: true }).catch(() => {});
    if (partialCreated) await rm(partialPath, { force: true }).catch(() => {});
    if (renamed) await rm(finalPath, { force: true }).catch(() => {});
    throw await fileSystemError(error, directory, partialCreated ? await sizeOnDisk(partialPath) : 0);
  } finally {
    await toolEnv.dispose();
  }
}

/** temp file, fsync, rename, directory fsync: through the durability seam, so that a test sees each one. */
async function writeDurably(
  durability: Durability,
  directory: string,
  name: string,
  text: string,
): Promise<void> {
  const partial = join(directory, `.${name}.partial`);
  try {
    const handle = await open(partial, 'wx', 0o600);
    try {
      await handle.writeFile(text);
    } finally {
      await handle.close();
    }
    await durability.syncFile(partial);
    await rename(partial, join(directory, name));
    await durability.syncDirectory(directory);
  } catch (error) {
    await rm(partial, { force: true }).catch(() => {});
    throw error;
  }
}
