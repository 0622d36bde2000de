// Restore to a point from the off-site store (a fresh server, or a PITR folder lost or damaged): the store's manifests
// beside the local ones, each judged under the same trust policy and chain rules (a forged, missing or reordered
// object cuts the window short as it would here), and, for a restore, the files of the plan that are only in the store
// downloaded into a private folder of the backup directory, each checked against its signed manifest's SHA-256 on
// the way (and again before it is unpacked), removed after the restore.
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { readPitrManifest, type PitrManifest } from '../../handlers/pitr/manifest';
import { assessPitr, type PitrCatalog, type PitrEntry } from '../../handlers/pitr/window';
import type { PitrOffsiteCatalog } from '../../handlers/ports/backup-store';
import { MANIFEST_SUFFIX, readPitrEntries } from './folder';
import { pitrStores, type PitrStoreOptions } from './offsite';

const complete = (e: PitrEntry) => e.manifest !== null && e.dataSizeBytes === e.manifest.sizeBytes;

/** The local folder and the store together: what is complete here is read here, the rest from the store. */
export async function readOffsitePitrCatalog(
  options: PitrStoreOptions,
  trustedKeys: readonly string[],
): Promise<PitrOffsiteCatalog> {
  const { stores, location } = pitrStores(options);
  const entries = new Map<string, PitrEntry>();
  for (const e of await readPitrEntries(options.directory, trustedKeys)) entries.set(e.manifestFile, e);
  const remote = new Set<string>();
  for (const sub of ['base', 'wal'] as const) {
    for (const backup of (await stores[sub].list()).backups) {
      const manifestFile = `${sub}/${backup.manifestFile}`;
      const here = entries.get(manifestFile);
      if (here && complete(here)) continue;
      const file = `${sub}/${backup.file}`;
      const text = Buffer.from(await stores[sub].readManifest(backup.manifestFile)).toString('utf8');
      const read = readPitrManifest(text, trustedKeys, file);
      entries.set(manifestFile, {
        manifestFile,
        manifest: read.ok ? read.manifest : null,
        reason: read.ok ? null : `in ${location}: ${read.reason}`,
        dataSizeBytes: backup.sizeBytes,
      });
      remote.add(file);
    }
  }
  const catalog: PitrCatalog = assessPitr([...entries.values()]);
  return { location, catalog, remote };
}

/**
 * Downloads `manifests`' files into a new private folder of the backup directory (`<dir>/.pitr-fetch-*`, laid out
 * like the PITR folder), each checked against the manifest's SHA-256 while it is written; `dispose` removes it.
 */
export async function fetchPitrFiles(
  options: PitrStoreOptions,
  manifests: readonly PitrManifest[],
): Promise<{ directory: string; dispose: () => Promise<void> }> {
  const directory = await mkdtemp(join(options.directory, '.pitr-fetch-'));
  const dispose = () => rm(directory, { recursive: true, force: true });
  try {
    const { stores } = pitrStores({ ...options, directory });
    for (const m of manifests) {
      const [sub, name] = m.file.split('/') as ['base' | 'wal', string];
      await stores[sub].download({ file: name, manifestFile: name + MANIFEST_SUFFIX, sha256: m.sha256 });
    }
    return { directory, dispose };
  } catch (error) {
    await dispose();
    throw error;
  }
}
