// The PITR folder inside the backup directory: <directory>/pitr/{incoming,base,wal,tail}. Sealed files are written
// compressed (zstd) and optionally age-encrypted, hashed on the way, fsynced and renamed; each gets its signed
// manifest `<file>.manifest.json` beside it. Reading the folder gives the catalog the handlers judge.
import { createReadStream } from 'node:fs';
import { access, mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { readPitrManifest, type PitrManifest } from '../../handlers/pitr/manifest';
import { readPitrTail } from '../../handlers/pitr/tail-manifest';
import { assessPitr, type PitrCatalog, type PitrEntry, type PitrTailEntry } from '../../handlers/pitr/window';
import { HashingPassThrough, fsyncDirectory, sha256OfFile } from '../executor/dump-file';
import { helperEnv, processStage, failedStage, type Stage } from '../executor/filters';

export const MANIFEST_SUFFIX = '.manifest.json';

export interface PitrFolder {
  root: string;
  incoming: string;
  base: string;
  wal: string;
  /** The signed tail (tail.ts): never part of the chain, so neither retention nor the off-site copy sees it. */
  tail: string;
}

export function pitrFolder(directory: string): PitrFolder {
  const root = join(directory, 'pitr');
  return {
    root,
    incoming: join(root, 'incoming'),
    base: join(root, 'base'),
    wal: join(root, 'wal'),
    tail: join(root, 'tail'),
  };
}

export async function ensurePitrFolder(folder: PitrFolder): Promise<void> {
  for (const d of [folder.incoming, folder.base, folder.wal, folder.tail])
    await mkdir(d, { recursive: true, mode: 0o700 });
}

function stage(tool: 'zstd' | 'age', args: string[], what: string): Stage {
  return processStage(tool, args, helperEnv(process.env), (stderr) =>
    failedStage(
      'PITR.SEAL_FAILED',
      `${tool} failed while ${what}`,
      stderr,
      'Check the server log and try again.',
    ),
  );
}

/**
 * Writes `source` to `<root>/<file>` through zstd (and age for `recipients`), hashing the stored bytes; the file
 * appears under its name only once complete and fsynced.
 */
export async function sealInto(
  root: string,
  file: string,
  source: Readable,
  recipients: readonly string[],
): Promise<{ sizeBytes: number; sha256: string }> {
  const target = join(root, file);
  const temporary = `${target}.part`;
  const zstd = stage('zstd', ['-3', '-q', '-c', '-'], 'compressing WAL');
  const age =
    recipients.length > 0
      ? stage(
          'age',
          recipients.flatMap((r) => ['-r', r]),
          'encrypting WAL',
        )
      : null;
  const hash = new HashingPassThrough();
  const stages = [zstd, ...(age ? [age] : [])];
  try {
    const handle = await open(temporary, 'w', 0o600);
    // The write stream owns the handle and closes it, also when the pipeline fails.
    const sink = handle.createWriteStream();
    await Promise.all([
      pipeline([source, ...stages.map((s) => s.stream), hash, sink]),
      ...stages.map((s) => s.done),
    ]).catch((error: unknown) => {
      for (const s of stages) s.stop();
      throw error;
    });
    const written = await open(temporary, 'r');
    await written.sync().finally(() => written.close());
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
  await rename(temporary, target);
  await fsyncDirectory(dirname(target));
  return { sizeBytes: hash.bytes, sha256: hash.digest() };
}

/** Writes a signed manifest file next to its data file, atomically. */
export async function writeManifestFile(root: string, file: string, text: string): Promise<void> {
  const target = join(root, file + MANIFEST_SUFFIX);
  const handle = await open(`${target}.part`, 'w', 0o600);
  try {
    await handle.writeFile(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(`${target}.part`, target);
  await fsyncDirectory(dirname(target));
}

/** Whether `path` is gone (removed meanwhile), as opposed to unreadable. */
const gone = (path: string) =>
  access(path).then(
    () => false,
    (error: NodeJS.ErrnoException) => error.code === 'ENOENT',
  );

/**
 * The entries of base/ or wal/, and whether one vanished while they were read: retention removes a manifest and then
 * its data file, so a manifest gone before it was read, or a data file gone after it with its manifest, is a file
 * removed meanwhile and left out, not a missing one (that would cut the window for a moment).
 */
async function entriesIn(
  root: string,
  sub: 'base' | 'wal',
  trustedKeys: readonly string[],
): Promise<{ entries: PitrEntry[]; vanished: boolean }> {
  let names: string[];
  try {
    names = await readdir(join(root, sub));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { entries: [], vanished: false };
    throw error;
  }
  const entries: PitrEntry[] = [];
  let vanished = false;
  for (const name of names.filter((n) => n.endsWith(MANIFEST_SUFFIX))) {
    const file = `${sub}/${name.slice(0, -MANIFEST_SUFFIX.length)}`;
    const manifestFile = `${sub}/${name}`;
    const text = await readFile(join(root, manifestFile), 'utf8').catch((error: NodeJS.ErrnoException) =>
      error.code === 'ENOENT' ? null : '',
    );
    const info = text === null ? null : await stat(join(root, file)).catch(() => null);
    if (text === null || (!info && (await gone(join(root, manifestFile))))) {
      vanished = true;
      continue;
    }
    const read = readPitrManifest(text, trustedKeys, file);
    entries.push({
      manifestFile,
      manifest: read.ok ? read.manifest : null,
      reason: read.ok ? null : read.reason,
      dataSizeBytes: info?.isFile() ? info.size : null,
    });
  }
  return { entries, vanished };
}

/**
 * The manifests of the PITR folder, each judged under the trust policy, with its data file's size. Read again when a
 * file vanished during the read (retention ran meanwhile, removing the oldest first), so that what is returned is
 * one consistent state: a read that overlapped the removal could keep an older entry and miss a newer one.
 */
export async function readPitrEntries(
  directory: string,
  trustedKeys: readonly string[],
): Promise<PitrEntry[]> {
  const { root } = pitrFolder(directory);
  for (let attempt = 1; ; attempt += 1) {
    const base = await entriesIn(root, 'base', trustedKeys);
    const wal = await entriesIn(root, 'wal', trustedKeys);
    if ((!base.vanished && !wal.vanished) || attempt >= 5) return [...base.entries, ...wal.entries];
  }
}

/** The names of the tail manifests in tail/, newest first (names sort by segment, then by bytes of WAL). */
export async function tailManifestNames(folder: PitrFolder): Promise<string[]> {
  const names = await readdir(folder.tail).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [];
    throw error;
  });
  return names
    .filter((n) => n.endsWith(MANIFEST_SUFFIX))
    .sort()
    .reverse();
}

/**
 * The newest tail, judged under the trust policy, with its data file's size; null when there is none. The writer
 * replaces it every few seconds (the new one written, then the old one removed, manifest first): one that vanished
 * while it was read was replaced, and the next newest is read instead.
 */
export async function readPitrTailEntry(
  directory: string,
  trustedKeys: readonly string[],
): Promise<PitrTailEntry | null> {
  const folder = pitrFolder(directory);
  for (const name of await tailManifestNames(folder)) {
    const file = `tail/${name.slice(0, -MANIFEST_SUFFIX.length)}`;
    const manifestFile = `tail/${name}`;
    const text = await readFile(join(folder.root, manifestFile), 'utf8').catch(
      (error: NodeJS.ErrnoException) => (error.code === 'ENOENT' ? null : ''),
    );
    const info = text === null ? null : await stat(join(folder.root, file)).catch(() => null);
    if (text === null || (!info && (await gone(join(folder.root, manifestFile))))) continue;
    const read = readPitrTail(text, trustedKeys, file);
    const sized = read.ok && info?.isFile() && info.size === read.tail.sizeBytes;
    return {
      manifestFile,
      tail: read.ok ? read.tail : null,
      reason: read.ok ? null : read.reason,
      dataSizeBytes: info?.isFile() ? info.size : null,
      dataSha256: sized ? await sha256OfFile(join(folder.root, file)).catch(() => null) : null,
    };
  }
  return null;
}

/** The PITR catalog of a backup directory from its manifests and file sizes (no data file is read). */
export async function readPitrCatalog(
  directory: string,
  trustedKeys: readonly string[],
): Promise<PitrCatalog> {
  const entries = await readPitrEntries(directory, trustedKeys);
  return assessPitr(entries, await readPitrTailEntry(directory, trustedKeys));
}

/** The newest trusted manifest by sequence (the chain's head), whatever the window says. */
export async function readPitrHead(
  directory: string,
  trustedKeys: readonly string[],
): Promise<PitrManifest | null> {
  const entries = await readPitrEntries(directory, trustedKeys);
  let head: PitrManifest | null = null;
  for (const e of entries)
    if (e.manifest && (!head || e.manifest.sequence > head.sequence)) head = e.manifest;
  return head;
}

/** The stored bytes of a sealed file, for the restore (which hashes them against the manifest on the way). */
export function openSealed(directory: string, file: string): Readable {
  return createReadStream(join(pitrFolder(directory).root, file));
}
