// The end of a dump: its manifest (the next link of this key's chain), signed before anything is visible, the data
// file renamed into place, and the manifest written last, durably, as the commit marker.
import { open, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { BackupMetadataSeed, CatalogEntry, DumpOptions } from '../../handlers/backup/model';
import { MANIFEST_FORMAT, manifestDigest, type BackupManifest } from '../../handlers/backup/manifest';
import type { Durability } from './durability';

/** The chain link of the next backup: after the newest manifest this key signed for the database. */
export function nextLink(
  entries: readonly CatalogEntry[],
  database: string,
  minSequence: number,
): { sequence: number; previous: string | null } {
  let newest: BackupManifest | null = null;
  for (const entry of entries) {
    const m = entry.manifest;
    if (m && m.database === database && (newest === null || m.sequence > newest.sequence)) newest = m;
  }
  const sequence = Math.max(minSequence, (newest?.sequence ?? 0) + 1);
  return { sequence, previous: newest ? manifestDigest(newest) : null };
}

/** What the dump wrote, as its manifest says it. */
export interface WrittenDump {
  file: string;
  sizeBytes: number;
  sha256: string;
  durationMs: number;
  pgDumpVersion: string;
  restricted: boolean;
}

export function dumpManifest(
  seed: BackupMetadataSeed,
  options: DumpOptions,
  link: { sequence: number; previous: string | null },
  written: WrittenDump,
): BackupManifest {
  const encrypted = options.encryptionRecipients.length > 0;
  return {
    format: MANIFEST_FORMAT,
    file: written.file,
    sizeBytes: written.sizeBytes,
    sha256: written.sha256,
    database: seed.database,
    createdAt: seed.startedAt,
    durationMs: written.durationMs,
    serverVersion: seed.serverVersion,
    pgDumpVersion: written.pgDumpVersion,
    schemaVersion: seed.schemaVersion,
    appVersion: seed.appVersion,
    compression: options.compression,
    encryption: encrypted ? { scheme: 'age', recipients: [...options.encryptionRecipients] } : null,
    restricted: written.restricted,
    sequence: link.sequence,
    previousManifestSha256: link.previous,
    trigger: seed.trigger,
    user: seed.user,
  };
}

/** temp file, fsync, rename, directory fsync: through the durability seam, so that a test sees each one. */
export async function writeDurably(
  durability: Durability,
  directory: string,
  name: string,
  text: string,
): Promise<void> {
  const partial = join(directory, `.${name}.partial`);
  try {
    const handle = await open(partial, 'wx', 0o600);
    try {
      await handle.writeFile(text);
    } finally {
      await handle.close();
    }
    await durability.syncFile(partial);
    await rename(partial, join(directory, name));
    await durability.syncDirectory(directory);
  } catch (error) {
    await rm(partial, { force: true }).catch(() => {});
    throw error;
  }
}
