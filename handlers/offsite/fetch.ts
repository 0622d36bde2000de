// Before a restore: when the backup to restore is only in the store (the newest trusted one, or the one named), it
// is downloaded into the backup directory, checked against its manifest on the way, and then restored as usual.
// A dry run downloads nothing: it answers which object a restore would download.
import { AppError, isAppError } from '../errors';
import type { BackupTask } from '../ports/backup-store';
import type { OffsiteContext } from './context';
import type {
  LocalBackup,
  OffsiteCatalog,
  OffsiteFetch,
  OffsiteFetchRequest,
  TrustedOffsiteBackup,
} from './model';
import type { OffsiteStore } from '../ports/offsite-store';
import { readOffsiteCatalog } from './trusted';
import { chainRestarted, checkExpectedNewest } from '../backup/select-backup';
import { restartedChain } from '../backup/trust';
import { refuseDamagedNewest } from './newest';

export async function fetchForRestore(
  ctx: OffsiteContext,
  task: BackupTask,
  request: OffsiteFetchRequest,
): Promise<OffsiteFetch | null> {
  const { settings } = task;
  const store = ctx.storeFor(task);
  if (!settings.offsite || !store) return null;
  const local = await ctx.format.listLocal(task.store);
  if (request.file !== undefined && local.some((l) => l.file === request.file)) return null; // here already
  try {
    const catalog = await readOffsiteCatalog(store, ctx.format, task.store.trustPolicy());
    const candidate = chooseCandidate(catalog, local, request, store.location);
    if (!candidate) return null;
    const fetched: OffsiteFetch = {
      file: candidate.file,
      location: store.location,
      bucket: settings.offsite.bucket,
      key: `${settings.offsite.prefix}${candidate.file}`,
      directory: task.store.directory,
      downloaded: false,
      manifest: candidate.manifest,
    };
    if (request.dryRun === true) {
      ctx.logger.info(
        `Dry run: ${candidate.file} is only in ${store.location}; a restore would download the object '${fetched.key}' of bucket '${fetched.bucket}' (nothing is downloaded now).`,
      );
      return fetched;
    }
    await download(ctx, store, candidate, fetched.directory);
    return { ...fetched, downloaded: true };
  } catch (error) {
    if (!isAppError(error)) throw error;
    // Falling back to an older local backup without a word would restore the wrong state: refuse, say how to choose.
    throw new AppError(error.code, error.kind, `${error.message} The restore did not start.`, {
      suggestion:
        `${error.suggestion ?? ''} To restore a local backup instead, name it with --file (see \`database-backup list\`).`.trim(),
      cause: error,
    });
  }
}

/** The trusted backup in the store to download, or none when the directory already has what the restore wants. */
function chooseCandidate(
  catalog: OffsiteCatalog,
  local: LocalBackup[],
  request: OffsiteFetchRequest,
  location: string,
): TrustedOffsiteBackup | undefined {
  const candidate =
    request.file !== undefined
      ? catalog.trusted.find((b) => b.file === request.file)
      : catalog.trusted.find((b) => b.database === request.database);
  const refused =
    request.file === undefined ? undefined : catalog.untrusted.find((b) => b.file === request.file);
  if (!candidate && refused) {
    // Never downloaded: what no trusted key signed stays out of the directory (and so out of psql's reach).
    throw new AppError(
      'OFFSITE.UNTRUSTED',
      'conflict',
      `The backup '${refused.file}' in ${location} is not trusted: ${refused.reason}.`,
      {
        suggestion:
          "If it comes from another server of yours, add that server's public key to trusted_keys of the database_backup task.",
        details: { file: refused.file },
      },
    );
  }
  // The newest-signed rule, as in the directory: a newer backup that fails its check is refused by name.
  if (request.file === undefined) refuseDamagedNewest(catalog, local, request.database, location);
  if (!candidate) return undefined;
  if (request.file === undefined) {
    const restarted = restartedChain(
      catalog.trusted.filter((b) => b.database === request.database).map((b) => b.manifest),
    );
    if (restarted) throw chainRestarted(restarted, `in ${location}`);
  }
  const newestLocal = local
    .filter((l) => l.database === candidate.database)
    .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime())[0];
  if (request.file === undefined && newestLocal && newestLocal.createdAt >= candidate.createdAt)
    return undefined;
  if (local.some((l) => l.file === candidate.file)) return undefined;
  if (request.file === undefined)
    checkExpectedNewest(request.expectNewest, candidate.file, candidate.manifest.sequence, {
      where: `in ${location}`,
      database: request.database,
    });
  return candidate;
}

async function download(
  ctx: OffsiteContext,
  store: OffsiteStore,
  candidate: TrustedOffsiteBackup,
  directory: string,
): Promise<void> {
  ctx.logger.info(`Downloading ${candidate.file} from ${store.location} into ${directory} for the restore`);
  const { file, manifestFile, sha256 } = candidate;
  await store.download({ file, manifestFile, sha256 });
  ctx.logger.info(`Downloaded ${candidate.file} from ${store.location}; its checksum matches its manifest.`);
}
