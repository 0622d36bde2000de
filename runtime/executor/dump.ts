// pg_dump, checked, compressed (and encrypted) into `.<file>.partial`, hashed on the way, fsynced, signed, renamed,
// then the signed manifest as the commit marker: all or nothing. The manifest and the commit are in dump-commit.ts,
// what a failure is called in dump-errors.ts.
import { open, readdir, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { BackupMetadataSeed, CatalogEntry, DumpOptions } from '../../handlers/backup/model';
import type { ManifestSigner } from '../../handlers/ports/manifest-signer';
import {
  backupFileName,
  dataFileSuffix,
  isBackupFileName,
  manifestFileName,
} from '../../handlers/backup/naming';
import { listCatalog } from './catalog';
import { requireTool, type ExecutorContext } from './executor-context';
import { ensureDirectory, sweepStaleFiles } from './directory';
import { HashingPassThrough, ProgressiveSync } from './dump-file';
import { fileSystemDurability } from './durability';
import { DumpGuard, DumpStructureError } from './dump-guard';
import { dumpManifest, nextLink, writeDurably } from './dump-commit';
import { fileSystemError, throwIfDumpFailed } from './dump-errors';
import { compressStage, encryptStage, helperEnv, type Stage } from './filters';
import { pgDumpWritesRestrict } from './tool-versions';
import { EXECUTOR_ERRORS, dumpIncomplete, fileExists, invalidName, toolFailed } from './errors';
import { prepareToolEnvironment } from './pg-env';
import { ProgressTap } from './progress-tap';
import { runTool } from './process';
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

/** Where a dump goes: its new name in the directory, and its place in this key's chain. */
interface DumpTarget {
  directory: string;
  file: string;
  finalPath: string;
  partialPath: string;
  link: { sequence: number; previous: string | null };
}

/** What a dump has left on disk so far: all of it is removed when it fails. */
interface Leftovers {
  partialCreated: boolean;
  renamed: boolean;
  manifestPath: string | null;
  stages: Stage[];
}

/** pg_dump as found for the server's major, with the environment that holds its password file. */
interface DumpTool {
  path: string;
  env: Record<string, string>;
  serverMajor: number | null;
}

export async function dumpDatabase(context: ExecutorContext, request: DumpRequest): Promise<CatalogEntry> {
  const target = await chooseTarget(context, request);
  const serverMajor = majorOf(request.seed.serverVersion) ?? context.serverMajor;
  const pgDump = await requireTool(context, 'pg_dump', serverMajor);
  const toolEnv = await prepareToolEnvironment(
    context.connection,
    context.sourceEnv,
    context.connection.database,
  );
  const durability = context.durability ?? fileSystemDurability;
  const hasher = new HashingPassThrough();
  const started = Date.now();
  const left: Leftovers = { partialCreated: false, renamed: false, manifestPath: null, stages: [] };
  const { directory, file, finalPath, partialPath } = target;
  try {
    const tool = { path: pgDump, env: toolEnv.env, serverMajor };
    const { pgDumpVersion, restricted } = await writeDump(context, request, target, tool, hasher, left);
    await durability.syncFile(partialPath);

    const onDisk = (await stat(partialPath)).size;
    if (onDisk !== hasher.bytes)
      throw dumpIncomplete(`${onDisk} bytes on disk but ${hasher.bytes} were written`);

    const manifest = dumpManifest(request.seed, request.options, target.link, {
      file,
      sizeBytes: hasher.bytes,
      sha256: hasher.digest(),
      durationMs: Date.now() - started,
      pgDumpVersion,
      restricted,
    });
    // Signed before anything is visible: a signer that fails leaves only the partial file, which is removed.
    const manifestText = await request.signer.sign(manifest);
    await rename(partialPath, finalPath);
    left.renamed = true;
    await durability.syncDirectory(directory);
    // The manifest is the commit marker: written last, durably.
    left.manifestPath = join(directory, manifestFileName(file));
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
    for (const stage of left.stages) stage.stop();
    // Nothing of a failed dump stays behind, least of all under a name that "latest" could pick.
    if (left.manifestPath) await rm(left.manifestPath, { force: true }).catch(() => {});
    if (left.partialCreated) await rm(partialPath, { force: true }).catch(() => {});
    if (left.renamed) await rm(finalPath, { force: true }).catch(() => {});
    throw await fileSystemError(error, directory, left.partialCreated ? await sizeOnDisk(partialPath) : 0);
  } finally {
    await toolEnv.dispose();
  }
}

/** The directory made ready, stale leftovers swept, and a name no other backup or running dump has. */
async function chooseTarget(context: ExecutorContext, request: DumpRequest): Promise<DumpTarget> {
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
  return { directory, file, finalPath, partialPath, link };
}

/** pg_dump's output through the dump guard, the compression and encryption stages and the hash into the partial file. */
async function writeDump(
  context: ExecutorContext,
  request: DumpRequest,
  target: DumpTarget,
  tool: DumpTool,
  hasher: HashingPassThrough,
  left: Leftovers,
): Promise<{ pgDumpVersion: string; restricted: boolean }> {
  const { options } = request;
  const { stages } = left;
  const helperEnvironment = helperEnv(context.sourceEnv);
  const pgDumpVersion = await readToolVersion(tool.path, tool.env, context.logger);
  if (pgDumpVersion === null) {
    throw toolFailed(
      EXECUTOR_ERRORS.DUMP_FAILED,
      `${tool.path} --version did not report a PostgreSQL version`,
      null,
    );
  }
  const compress = await compressStage(context, options.compression, helperEnvironment);
  if (compress) stages.push(compress);
  const encrypt = await encryptStage(context, options.encryptionRecipients, helperEnvironment);
  if (encrypt) stages.push(encrypt);
  // The structure every restore will demand is checked on the way in, before a byte is compressed.
  const guard = new DumpGuard({ requireRestrict: pgDumpWritesRestrict(pgDumpVersion) });
  const handle = await openPartial(target.partialPath, target.finalPath);
  left.partialCreated = true;
  const run = await runTool({
    path: tool.path,
    args: ['--format=plain', '--no-password'],
    env: tool.env,
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
  throwIfDumpFailed(run, tool.path, tool.serverMajor);
  await Promise.all(stages.map((s) => s.done));
  return { pgDumpVersion, restricted: guard.restricted };
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
