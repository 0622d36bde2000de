// Opening one backup to read it: once, without following symlinks, a regular file of the server's own, and what its
// bytes must be, from its signed manifest (or, when allowed, its unsigned description). The same descriptor then
// serves the check and the feed into psql (read-backup.ts), so nothing can swap the file in between.
import { constants } from 'node:fs';
import type { Stats } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { AppError } from '../../handlers/errors';
import { readTrustedManifest, type BackupManifest } from '../../handlers/backup/manifest';
import { describeManifest } from '../../handlers/backup/describe-manifest';
import { manifestFileName, parseBackupFileName, type ParsedBackupName } from '../../handlers/backup/naming';
import type { BackupMetadata, ReadOptions } from '../../handlers/backup/model';
import type { Compression } from '../../handlers/backup/naming';
import { invalidName } from './errors';
import { readMetadata } from './metadata';
import { pgDumpWritesRestrict } from './tool-versions';

export interface OpenedBackup {
  handle: FileHandle;
  file: string;
  path: string;
  sizeBytes: number;
  /** What the bytes must hash to; null for a plain dump with no description. */
  expected: { sha256: string; sizeBytes: number } | null;
  signed: boolean;
  compression: Compression;
  encrypted: boolean;
  requireRestrict: boolean;
  description: BackupMetadata;
}

export function backupRefused(file: string, reason: string, suggestion?: string): AppError {
  return new AppError('BACKUP.UNTRUSTED', 'conflict', `The backup ${file} is refused: ${reason}.`, {
    suggestion:
      suggestion ??
      'Nothing was changed. Check the file; restore another backup by name with --file <name>, or a file you trust with --allow-unsigned.',
    details: { file },
  });
}

async function readSmallFile(path: string): Promise<string | null> {
  let handle: FileHandle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return null;
    if (code === 'ELOOP') throw new Error('it is a symbolic link');
    throw error;
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw new Error('it is not a regular file');
    if (info.size > 64 * 1024) throw new Error('it is too large for a manifest');
    return await handle.readFile('utf8');
  } finally {
    await handle.close();
  }
}

/** Opens the data file (no symlinks, regular files only) and decides what its bytes must be. */
export async function openBackup(
  directory: string,
  file: string,
  options: ReadOptions,
): Promise<OpenedBackup> {
  const parsed = parseBackupFileName(file);
  if (!parsed) throw invalidName('backup file name', file);
  const root = resolve(directory);
  const path = join(root, file);
  let handle: FileHandle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') throw backupRefused(file, 'it is a symbolic link; backups are regular files only');
    if (code === 'ENOENT')
      throw new AppError('EXECUTOR.BACKUP_NOT_FOUND', 'not_found', `The backup file ${path} does not exist.`);
    throw error;
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw backupRefused(file, 'it is not a regular file');
    checkOwnership(file, path, info);
    const base: OpenedBase = {
      handle,
      file,
      path,
      sizeBytes: info.size,
      compression: parsed.compression,
      encrypted: parsed.encrypted,
    };

    let manifestText: string | null;
    try {
      manifestText = await readSmallFile(join(root, manifestFileName(file)));
    } catch (error) {
      throw backupRefused(file, `its manifest cannot be read (${(error as Error).message})`);
    }
    if (manifestText !== null) {
      const trusted = readTrustedManifest(manifestText, options.trustedKeys, file);
      if (trusted.ok) return fromManifest(base, trusted.manifest, info.size);
      if (!options.allowUnsigned) throw backupRefused(file, trusted.reason);
    } else if (!options.allowUnsigned) {
      const legacy = await readMetadata(root, file);
      throw backupRefused(
        file,
        legacy.ok ? 'it is a legacy (format 1) backup without a signature' : 'it has no signed manifest',
        'Nothing was changed. If you trust this file, restore it on purpose with --file <name> --allow-unsigned.',
      );
    }
    return await unsignedBackup(base, root, parsed, manifestText === null);
  } catch (error) {
    await handle.close();
    throw error;
  }
}

/** On purpose, unsigned: the format 1 description (if any) only guards against damage, not against forgery. */
async function unsignedBackup(
  base: OpenedBase,
  root: string,
  parsed: ParsedBackupName,
  noManifest: boolean,
): Promise<OpenedBackup> {
  const { file, sizeBytes } = base;
  const legacy = noManifest ? await readMetadata(root, file) : null;
  const description: BackupMetadata =
    legacy?.ok === true
      ? legacy.metadata
      : {
          format: 'bomnipotent-backup/1',
          file,
          sha256: '',
          sizeBytes,
          database: parsed.database,
          serverVersion: '',
          pgDumpVersion: '',
          schemaVersion: 0,
          appVersion: '',
          startedAt: parsed.takenAt.toISOString(),
          durationMs: 0,
          trigger: 'manual',
          user: null,
        };
  return {
    ...base,
    expected:
      legacy?.ok === true ? { sha256: legacy.metadata.sha256, sizeBytes: legacy.metadata.sizeBytes } : null,
    signed: false,
    requireRestrict: true,
    description,
  };
}

/**
 * A backup file someone else could write is refused: another uid, or group and others with write permission, could
 * change its bytes after they were checked. The server's own files are 0600.
 */
function checkOwnership(file: string, path: string, info: Stats): void {
  const uid = process.getuid?.();
  if (uid !== undefined && info.uid !== uid)
    throw backupRefused(
      file,
      `it is owned by uid ${info.uid}, not by the server's uid ${uid}`,
      `Nothing was changed. If you trust this file, give it to the server's user: chown ${uid} ${path} && chmod 600 ${path}.`,
    );
  if ((info.mode & 0o022) !== 0)
    throw backupRefused(
      file,
      `others than the server's user may write it (mode ${(info.mode & 0o777).toString(8).padStart(4, '0')})`,
      `Nothing was changed. If you trust this file, make it the server's alone: chmod 600 ${path}.`,
    );
}

type OpenedBase = Omit<OpenedBackup, 'expected' | 'signed' | 'requireRestrict' | 'description'>;

function fromManifest(base: OpenedBase, manifest: BackupManifest, size: number): OpenedBackup {
  if (size !== manifest.sizeBytes) {
    const how = size < manifest.sizeBytes ? 'truncated' : 'grown';
    throw backupRefused(
      base.file,
      `it has ${size} bytes but its signed manifest says ${manifest.sizeBytes} (${how})`,
    );
  }
  return {
    ...base,
    expected: { sha256: manifest.sha256, sizeBytes: manifest.sizeBytes },
    signed: true,
    // A signed dump of an older pg_dump has no \restrict; every newer one must have it.
    requireRestrict: manifest.restricted || pgDumpWritesRestrict(manifest.pgDumpVersion),
    description: describeManifest(manifest),
  };
}
