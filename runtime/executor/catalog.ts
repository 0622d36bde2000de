// The backup directory as a catalog: entries with their trust state, retention, free space, the audit log.
import { constants } from 'node:fs';
import { access, lstat, open, readdir, rename, rm, stat, statfs } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { MAX_MANIFEST_BYTES, readTrustedManifest, type BackupManifest } from '../../handlers/backup/manifest';
import type { CatalogEntry, PruneResult, RehearsalState, TrustPolicy } from '../../handlers/backup/model';
import {
  dataFileOfManifest,
  isBackupFileName,
  manifestFileName,
  metadataFileName,
} from '../../handlers/backup/naming';
import { retentionCandidates, selectForDeletion } from '../../handlers/backup/retention';
import { readTrustedRehearsal, rehearsalFileName } from '../../handlers/backup/rehearsal-record';
import { fsyncDirectory } from './dump-file';
import { openPrivateFile } from './private-file';
import { notWritableReason } from './directory';
import { directoryNotWritable, invalidName } from './errors';
import { readMetadata } from './metadata';

/** A signed time this far ahead of the clock is not believed (clock skew between servers is allowed for). */
const FUTURE_TOLERANCE_MS = 5 * 60 * 1000;

function entryOf(root: string, file: string, fields: Omit<CatalogEntry, 'file' | 'path'>): CatalogEntry {
  return { file, path: join(root, file), ...fields };
}

async function readManifestText(
  path: string,
): Promise<{ text: string; mtimeMs: number } | { error: string }> {
  let handle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return {
      error: code === 'ELOOP' ? 'its manifest is a symbolic link' : `its manifest cannot be read (${code})`,
    };
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) return { error: 'its manifest is not a regular file' };
    if (info.size > MAX_MANIFEST_BYTES) return { error: 'its manifest is too large' };
    return { text: await handle.readFile('utf8'), mtimeMs: info.mtimeMs };
  } finally {
    await handle.close();
  }
}

/**
 * Every backup-like file with its trust state, from the manifests and a stat of each data file; no dump is read.
 * Also lists manifests whose data file is gone, so that a deletion shows.
 */
export async function listCatalog(
  directory: string,
  trust: TrustPolicy,
  now = new Date(),
): Promise<CatalogEntry[]> {
  const root = resolve(directory);
  let names: string[];
  try {
    names = await readdir(root);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    // A path that is a file, or lies under one, is the same misconfiguration a create would report.
    const reason = notWritableReason(error);
    if (reason) throw directoryNotWritable(root, reason);
    throw error;
  }
  const present = new Set(names);
  const dataFiles = new Set(names.filter(isBackupFileName));
  for (const name of names) {
    const data = dataFileOfManifest(name);
    if (data) dataFiles.add(data);
  }
  const entries: CatalogEntry[] = [];
  for (const file of dataFiles) entries.push(await assess(root, file, present, trust, now));
  return entries;
}

async function assess(
  root: string,
  file: string,
  present: ReadonlySet<string>,
  trust: TrustPolicy,
  now: Date,
): Promise<CatalogEntry> {
  const untrusted = (reason: string, sizeBytes: number, manifest: BackupManifest | null = null) =>
    entryOf(root, file, { sizeBytes, state: 'untrusted', reason, manifest, legacy: null });
  const info = present.has(file) ? await lstat(join(root, file)).catch(() => null) : null;
  const sizeBytes = info?.isFile() ? info.size : 0;
  if (info?.isSymbolicLink()) return untrusted('it is a symbolic link; backups are regular files only', 0);
  if (info && !info.isFile()) return untrusted('it is not a regular file', 0);

  const manifestName = manifestFileName(file);
  if (present.has(manifestName)) {
    const read = await readManifestText(join(root, manifestName));
    if ('error' in read) return untrusted(read.error, sizeBytes);
    const trusted = readTrustedManifest(read.text, trust.trustedKeys, file);
    if (!trusted.ok) return untrusted(trusted.reason, sizeBytes);
    const { manifest } = trusted;
    if (!info) return untrusted('its data file is missing (deleted?)', 0, manifest);
    if (info.size !== manifest.sizeBytes) {
      const how = info.size < manifest.sizeBytes ? 'truncated' : 'grown';
      return untrusted(
        `it has ${info.size} bytes but its signed manifest says ${manifest.sizeBytes} (${how})`,
        sizeBytes,
        manifest,
      );
    }
    if (info.mtimeMs > read.mtimeMs + 2000)
      return untrusted('the data file was modified after its manifest was signed', sizeBytes, manifest);
    if (Date.parse(manifest.createdAt) > now.getTime() + FUTURE_TOLERANCE_MS)
      return untrusted(
        `its signed creation time ${manifest.createdAt} lies in the future`,
        sizeBytes,
        manifest,
      );
    const rehearsal = present.has(rehearsalFileName(file))
      ? await readRehearsal(root, file, manifest.sha256, trust)
      : undefined;
    return entryOf(root, file, {
      sizeBytes,
      state: 'trusted',
      reason: null,
      manifest,
      signedBy: trusted.publicKey,
      legacy: null,
      ...(rehearsal ? { rehearsal } : {}),
    });
  }
  if (!info) return untrusted('its data file is missing', 0);
  if (present.has(metadataFileName(file))) {
    const meta = await readMetadata(root, file);
    return entryOf(root, file, {
      sizeBytes,
      state: 'legacy',
      reason:
        'a format 1 backup without a signature: restore it on purpose with --file <name> --allow-unsigned',
      manifest: null,
      legacy: meta.ok ? meta.metadata : null,
    });
  }
  return entryOf(root, file, {
    sizeBytes,
    state: 'unsigned',
    reason:
      'no signed manifest (a foreign dump, or an unfinished one): restore it on purpose with --file <name> --allow-unsigned',
    manifest: null,
    legacy: null,
  });
}

/** The signed rehearsal record of a trusted backup; anything but a valid record about these bytes is untrusted. */
async function readRehearsal(
  root: string,
  file: string,
  sha256: string,
  trust: TrustPolicy,
): Promise<RehearsalState> {
  const read = await readManifestText(join(root, rehearsalFileName(file)));
  if ('error' in read)
    return { state: 'untrusted', reason: read.error.replace('its manifest', 'its rehearsal record') };
  const trusted = readTrustedRehearsal(read.text, trust.trustedKeys, file, sha256);
  return trusted.ok
    ? { state: 'trusted', record: trusted.record }
    : { state: 'untrusted', reason: trusted.reason };
}

/** Writes the signed rehearsal record through a temporary file and a rename: a reader sees the old or the new one. */
export async function writeRehearsal(directory: string, file: string, recordFile: string): Promise<void> {
  if (!isBackupFileName(file)) throw invalidName('backup file name', file);
  if (recordFile.length > MAX_MANIFEST_BYTES) throw new Error('the rehearsal record is too large');
  const root = resolve(directory);
  const final = join(root, rehearsalFileName(file));
  const temporary = `${final}.partial`;
  // Only next to a backup that still exists: retention may have removed it while the rehearsal ran.
  await stat(join(root, manifestFileName(file)));
  // A name someone left there (a link to another file) is removed, not written through.
  await rm(temporary, { force: true });
  const handle = await openPrivateFile(temporary, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL);
  try {
    await handle.writeFile(recordFile, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temporary, final);
  await fsyncDirectory(root).catch(() => {});
}

/** Retention over trusted backups of one database only; the newest always stays. */
export async function pruneBackups(request: {
  directory: string;
  database: string;
  keep: number;
  trust: TrustPolicy;
}): Promise<PruneResult> {
  const candidates = retentionCandidates(
    await listCatalog(request.directory, request.trust),
    request.database,
  );
  const removed: string[] = [];
  for (const file of selectForDeletion(candidates, request.keep)) {
    await removeBackup(request.directory, file);
    removed.push(file);
  }
  return { removed, kept: candidates.length - removed.length };
}

/** Removes a backup: the manifest first (so that it stops being a backup at once), then its data and metadata. */
export async function removeBackup(directory: string, file: string): Promise<void> {
  if (!isBackupFileName(file)) throw invalidName('backup file name', file);
  const root = resolve(directory);
  await rm(join(root, manifestFileName(file)), { force: true });
  await rm(join(root, file), { force: true });
  await rm(join(root, metadataFileName(file)), { force: true });
  await rm(join(root, rehearsalFileName(file)), { force: true });
  await fsyncDirectory(root).catch(() => {});
}

/**
 * Free bytes for an unprivileged writer at the directory, or at its nearest existing parent. A path that cannot
 * be written (a file, under a file, read-only, no permission) is refused here, so that it is never reported as
 * "not enough free space".
 */
export async function freeBytes(directory: string): Promise<number> {
  const root = resolve(directory);
  let current = root;
  for (;;) {
    try {
      const info = await statfs(current);
      await checkWritable(root, current);
      return info.bavail * info.bsize;
    } catch (error) {
      const parent = dirname(current);
      const code = (error as NodeJS.ErrnoException).code;
      if ((code !== 'ENOENT' && code !== 'ENOTDIR') || parent === current) throw error;
      current = parent;
    }
  }
}

async function checkWritable(directory: string, existing: string): Promise<void> {
  if (!(await stat(existing)).isDirectory()) {
    throw directoryNotWritable(directory, notWritableReason({ code: 'ENOTDIR' }) ?? 'not a directory');
  }
  try {
    await access(existing, constants.W_OK | constants.X_OK);
  } catch (error) {
    throw directoryNotWritable(directory, notWritableReason(error) ?? 'not writable');
  }
}

export { appendAudit, readAudit, AUDIT_LOG } from './audit-log';
export { verifyBackup } from './verify';
