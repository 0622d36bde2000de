// A full read of one backup: opened once without following symlinks, checked against its signed manifest (or, when
// allowed, its unsigned description), and streamed through hash, decryption, decompression and the dump guard.
// The same descriptor serves the check and the feed into psql, so nothing can swap the file in between.
import { constants } from 'node:fs';
import type { Stats } from 'node:fs';
import { open, unlink, type FileHandle } from 'node:fs/promises';
import { createHash, randomBytes } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import { Writable, type Readable, type Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { AppError, isAppError } from '../../handlers/errors';
import { readTrustedManifest, type BackupManifest } from '../../handlers/backup/manifest';
import { describeManifest } from '../../handlers/backup/describe-manifest';
import { manifestFileName, parseBackupFileName } from '../../handlers/backup/naming';
import type { BackupMetadata, ReadOptions } from '../../handlers/backup/model';
import type { Compression } from '../../handlers/backup/naming';
import type { ExecutorContext } from './executor-context';
import { ProgressTap } from './progress-tap';
import { HashingPassThrough } from './dump-file';
import { DumpGuard, DumpStructureError } from './dump-guard';
import { invalidName } from './errors';
import { decompressStage, decryptStage, helperEnv, type Stage } from './filters';
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
    const base = {
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
    // On purpose, unsigned: the format 1 description (if any) only guards against damage, not against forgery.
    const legacy = manifestText === null ? await readMetadata(root, file) : null;
    const description: BackupMetadata =
      legacy?.ok === true
        ? legacy.metadata
        : {
            format: 'bomnipotent-backup/1',
            file,
            sha256: '',
            sizeBytes: info.size,
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
  } catch (error) {
    await handle.close();
    throw error;
  }
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

function fromManifest(
  base: Omit<OpenedBackup, 'expected' | 'signed' | 'requireRestrict' | 'description'>,
  manifest: BackupManifest,
  size: number,
): OpenedBackup {
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

/**
 * Streams the opened file from its start through hash, decryption, decompression and the dump guard into `sink`
 * (psql's stdin, or nothing). The end of the stream reaches the sink only after the hash matched.
 */
export async function streamBackup(
  context: ExecutorContext,
  opened: OpenedBackup,
  sink: Writable,
  options: ReadOptions,
  /** Bytes of the file read so far (a long restore's progress against the file's size). */
  onProgress?: (bytesRead: number) => void,
  /** Stages between the dump guard and the sink (the header filter for an older server, the row counter). */
  through: Transform[] = [],
): Promise<{ sha256: string; bytes: number }> {
  const env = helperEnv(context.sourceEnv);
  const hasher = new HashingPassThrough();
  let digest = '';
  const stages: Stage[] = [];
  if (opened.encrypted) stages.push(await decryptStage(context, options.identityFile, env, opened.file));
  const decompress = await decompressStage(context, opened.compression, env, opened.file);
  if (decompress) stages.push(decompress);
  const guard = new DumpGuard({
    requireRestrict: opened.requireRestrict,
    finalCheck: () => {
      digest = hasher.digest();
      if (!opened.expected) return null;
      if (hasher.bytes !== opened.expected.sizeBytes)
        return `${hasher.bytes} bytes were read but ${opened.expected.sizeBytes} were expected (the file changed)`;
      if (digest !== opened.expected.sha256)
        return 'checksum mismatch: the bytes are not the ones that were signed (altered or damaged)';
      return null;
    },
  });
  const source: Readable = opened.handle.createReadStream({
    start: 0,
    autoClose: false,
    highWaterMark: 1024 * 1024,
  });
  try {
    const tap = new ProgressTap(onProgress);
    const last = [guard, ...through, sink];
    await pipeline([source, tap, hasher, ...stages.map((s) => s.stream), ...last]);
    await Promise.all(stages.map((s) => s.done));
    return { sha256: digest, bytes: hasher.bytes };
  } catch (error) {
    for (const stage of stages) stage.stop();
    // A failing stage explains more than the broken pipe it causes downstream.
    const stageErrors = await Promise.all(
      stages.map((s) =>
        s.done.then(
          () => null,
          (e: unknown) => e,
        ),
      ),
    );
    const stageError = stageErrors.find((e) => isAppError(e));
    if (stageError) throw stageError;
    if (error instanceof DumpStructureError) throw backupRefused(opened.file, error.message);
    throw error;
  }
}

/**
 * The stored bytes against the signed size and SHA-256, nothing decoded: before a restore feeds psql, a signed
 * file is known to be the one that was signed. Decryption, decompression and the dump guard then run on the feed
 * itself, where the guard holds every block back until the next one is checked.
 */
export async function checkStoredBytes(opened: OpenedBackup): Promise<void> {
  if (!opened.expected) throw new Error(`no signed size and checksum for ${opened.file}`);
  const hasher = new HashingPassThrough();
  const source = opened.handle.createReadStream({ start: 0, autoClose: false, highWaterMark: 1024 * 1024 });
  await pipeline([source, hasher, discard()]);
  checkAgainst(opened, hasher.bytes, hasher.digest());
}

/**
 * Copies the opened file once, hashing it, into a private spool and proves the copy against the signed size and
 * SHA-256 before anything decodes it: the spool is created in the backup's directory (same file system, room for
 * backups) with O_EXCL | O_NOFOLLOW, mode 0600, and unlinked at once, so it is reachable through its descriptor
 * only. Whoever can write the backup's inode may change it after this copy: psql reads the spool, not the file.
 * Returns the backup with the spool's descriptor (the caller closes it); the original's stays open too.
 */
const SPOOL_CHUNK_BYTES = 1024 * 1024;

export async function spoolBackup(opened: OpenedBackup): Promise<OpenedBackup> {
  const spoolPath = join(dirname(opened.path), `.spool-${randomBytes(8).toString('hex')}`);
  const spool = await open(
    spoolPath,
    constants.O_RDWR | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
    0o600,
  );
  try {
    await unlink(spoolPath);
    const hash = createHash('sha256');
    const buffer = Buffer.allocUnsafe(SPOOL_CHUNK_BYTES);
    let position = 0;
    for (;;) {
      const { bytesRead } = await opened.handle.read(buffer, 0, buffer.length, position);
      if (bytesRead === 0) break;
      hash.update(buffer.subarray(0, bytesRead));
      let written = 0;
      while (written < bytesRead) {
        const { bytesWritten } = await spool.write(buffer, written, bytesRead - written, position + written);
        written += bytesWritten;
      }
      position += bytesRead;
    }
    checkAgainst(opened, position, hash.digest('hex'));
    return { ...opened, handle: spool };
  } catch (error) {
    await spool.close().catch(() => {});
    await unlink(spoolPath).catch(() => {});
    if ((error as NodeJS.ErrnoException).code === 'ENOSPC')
      throw backupRefused(
        opened.file,
        `there is no room for its verified copy (${opened.sizeBytes} bytes) in ${dirname(opened.path)}`,
        'Nothing was changed. Free that much space in the backup directory and try again.',
      );
    throw error;
  }
}

function checkAgainst(opened: OpenedBackup, bytes: number, sha256: string): void {
  if (!opened.expected) return;
  if (bytes !== opened.expected.sizeBytes)
    throw backupRefused(
      opened.file,
      `${bytes} bytes were read but ${opened.expected.sizeBytes} were expected (truncated or changed)`,
    );
  if (sha256 !== opened.expected.sha256)
    throw backupRefused(
      opened.file,
      'checksum mismatch: the bytes are not the ones that were signed (altered or damaged)',
    );
}

/** A sink that discards: verify reads everything and keeps nothing. */
export function discard(): Writable {
  return new Writable({ write: (_chunk, _encoding, callback) => callback() });
}
