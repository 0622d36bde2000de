// The backup directory as a catalog: list, verify, remove, free space, and the append-only audit log.
import { constants } from 'node:fs';
import { access, mkdir, open, readdir, rm, stat, statfs } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { AuditRecord, BackupEntry, Verification } from '../../handlers/ports';
import { isBackupFileName, metadataFileName } from '../../handlers/backup/naming';
import { maskSecrets } from '../mask';
import { checkDumpComplete, fsyncDirectory, sha256OfFile } from './dump-file';
import { notWritableReason } from './directory';
import { directoryNotWritable, invalidName } from './errors';
import { readMetadata } from './metadata';

export const AUDIT_LOG = 'audit.log.jsonl';

export async function listBackups(directory: string): Promise<BackupEntry[]> {
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
  const entries: BackupEntry[] = [];
  for (const file of names.filter(isBackupFileName)) {
    const path = join(root, file);
    const info = await stat(path).catch(() => null);
    if (!info?.isFile()) continue;
    const read = await readMetadata(root, file);
    entries.push({ file, path, sizeBytes: info.size, metadata: read.ok ? read.metadata : null });
  }
  return entries;
}

/** Everything that must hold before a dump is trusted; the reason says what is wrong in words. */
export async function verifyBackup(directory: string, file: string): Promise<Verification> {
  if (!isBackupFileName(file)) return { ok: false, reason: `${file} is not a backup file name` };
  const root = resolve(directory);
  const path = join(root, file);
  const info = await stat(path).catch(() => null);
  if (!info?.isFile()) return { ok: false, reason: `the backup file ${path} does not exist` };
  const read = await readMetadata(root, file);
  if (!read.ok) return read;
  const { metadata } = read;
  if (info.size !== metadata.sizeBytes) {
    const how = info.size < metadata.sizeBytes ? 'the dump is truncated' : 'the dump grew';
    return {
      ok: false,
      reason: `${how}: it has ${info.size} bytes but ${metadataFileName(file)} says ${metadata.sizeBytes}`,
    };
  }
  if ((await sha256OfFile(path)) !== metadata.sha256) {
    return { ok: false, reason: 'checksum mismatch: the file was changed or damaged after it was written' };
  }
  const problem = await checkDumpComplete(path);
  if (problem) return { ok: false, reason: `the dump is incomplete: ${problem}` };
  return { ok: true, metadata };
}

/** Retention: removes a dump and its metadata; a name that is not ours is refused, so nothing else can go. */
export async function removeBackup(directory: string, file: string): Promise<void> {
  if (!isBackupFileName(file)) throw invalidName('backup file name', file);
  const root = resolve(directory);
  await rm(join(root, file), { force: true });
  await rm(join(root, metadataFileName(file)), { force: true });
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

/** One JSON line per record, appended and fsynced; the file is private to the server's user. */
export async function appendAudit(directory: string, record: AuditRecord): Promise<void> {
  const root = resolve(directory);
  await mkdir(root, { recursive: true, mode: 0o700 });
  const line = JSON.stringify({ ...record, message: maskSecrets(record.message) }) + '\n';
  const handle = await open(join(root, AUDIT_LOG), 'a', 0o600);
  try {
    await handle.write(line);
    await handle.sync();
  } finally {
    await handle.close();
  }
}
