// A restore of one backup file: opened, spooled and proven against its signed manifest, then loaded (load-dump.ts).
import type { Transform, Writable } from 'node:stream';
import { isBackupFileName } from '../../handlers/backup/naming';
import type { ExecutorContext } from './executor-context';
import { invalidName } from './errors';
import type { DatabaseLocale, ReadOptions, RestoreReport } from '../../handlers/backup/model';
import { loadDump } from './load-dump';
import { isSafeDatabaseName } from './locale';
import { openBackup, type OpenedBackup } from './open-backup';
import { discard, spoolBackup, streamBackup } from './read-backup';

export interface RestoreRequest {
  directory: string;
  file: string;
  targetDatabase: string;
  read: ReadOptions;
  serverMajor?: number | undefined;
  locale?: DatabaseLocale | undefined;
  signal?: AbortSignal | undefined;
  onProgress?: ((bytesFed: number) => void) | undefined;
  countRows?: boolean | undefined;
}

export async function restoreDatabase(
  context: ExecutorContext,
  request: RestoreRequest,
): Promise<RestoreReport> {
  const { file, targetDatabase: target } = request;
  if (!isBackupFileName(file)) throw invalidName('backup file name', file);
  if (!isSafeDatabaseName(target)) throw invalidName('target database name', target);
  // Opened without following symlinks, copied once into a private spool while hashed, and proven against the
  // signed manifest before a byte is decoded: psql reads the spool, so a second writer of the file between the
  // check and the feed changes nothing. A file without a signature is read in full through every check first.
  const opened = await openBackup(request.directory, file, request.read);
  // The copy and its proof run while the new database is prepared (roles read, createdb, the load's login): psql
  // starts only after both, and is fed nothing but the proven spool.
  const proven = proveBackup(context, opened, request.read);
  proven.catch(() => {}); // awaited below; a refusal meanwhile must not be an unhandled rejection
  try {
    return await loadDump(context, { ...request, inputReady: proven }, (sink, through) =>
      proven.then((spooled) => applyBackup(context, request, spooled, sink, through)),
    );
  } catch (error) {
    // A refused backup explains more than what failed beside it (an existing target, the load it stopped).
    const refusal = await proven.then(
      () => null,
      (reason: unknown) => reason,
    );
    throw refusal ?? error;
  } finally {
    await (await proven.catch(() => null))?.handle.close();
  }
}

/** The private spool, proven against the signed manifest (or, unsigned, read in full through every check). */
async function proveBackup(
  context: ExecutorContext,
  opened: OpenedBackup,
  read: ReadOptions,
): Promise<OpenedBackup> {
  let spooled: OpenedBackup;
  try {
    spooled = await spoolBackup(opened);
  } finally {
    await opened.handle.close();
  }
  try {
    if (!spooled.signed) await streamBackup(context, spooled, discard(), read);
    return spooled;
  } catch (error) {
    await spooled.handle.close();
    throw error;
  }
}

/** The verified spool through decryption, decompression and the dump guard into the shared load (load-dump.ts). */
function applyBackup(
  context: ExecutorContext,
  request: RestoreRequest,
  opened: OpenedBackup,
  sink: Writable,
  through: Transform[],
): Promise<unknown> {
  // psql reads only what streamBackup releases: the verified bytes, its end only after the hash matched.
  return streamBackup(context, opened, sink, request.read, request.onProgress, through);
}
