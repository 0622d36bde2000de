// A full read of one opened backup (open-backup.ts): streamed through hash, decryption, decompression and the dump
// guard; or its stored bytes checked against the signed size and SHA-256; or spooled into a private verified copy.
import { constants } from 'node:fs';
import { open, statfs, unlink } from 'node:fs/promises';
import { createHash, randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { Writable, type Readable, type Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { isAppError } from '../../handlers/errors';
import { formatBytes } from '../../handlers/units';
import type { ReadOptions } from '../../handlers/backup/model';
import type { ExecutorContext } from './executor-context';
import { ProgressTap } from './progress-tap';
import { HashingPassThrough } from './dump-file';
import { DumpGuard, DumpStructureError } from './dump-guard';
import { decompressStage, decryptStage, helperEnv, type Stage } from './filters';
import { backupRefused, type OpenedBackup } from './open-backup';
import { youngGcStages } from './young-gc';

/**
 * The feed's reads from the file. 64 KiB, not 1 MiB: 1 MiB chunks wait in the decompressor's input, and young-
 * generation collections did not free them (most likely promoted while waiting), so they stayed in the RSS until a
 * full collection; with 64 KiB reads the scavenges of young-gc.ts free them (docs/benchmarks.md, issue 19).
 */
export const FEED_READ_BYTES = 64 * 1024;

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
    highWaterMark: FEED_READ_BYTES,
  });
  try {
    const tap = new ProgressTap(onProgress);
    const last = [guard, ...youngGcStages(), ...through, sink];
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

/** Refuses up front, before a byte is copied, when the backup's directory has less room than the copy needs. */
async function checkSpoolRoom(opened: OpenedBackup): Promise<void> {
  const directory = dirname(opened.path);
  const info = await statfs(directory);
  const free = info.bavail * info.bsize;
  if (free >= opened.sizeBytes) return;
  throw backupRefused(
    opened.file,
    `its verified copy needs ${formatBytes(opened.sizeBytes)} (${opened.sizeBytes} bytes) in ${directory}, ` +
      `and only ${formatBytes(free)} (${free} bytes) is free there`,
    'Nothing was changed. Free that much space in the backup directory (or move the backup to one with room) and try again.',
  );
}

export async function spoolBackup(opened: OpenedBackup): Promise<OpenedBackup> {
  await checkSpoolRoom(opened);
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
