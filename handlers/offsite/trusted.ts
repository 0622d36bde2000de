// The store's backups whose manifests check out, newest first by the manifest's own creation time.
import type { TrustPolicy } from '../backup/model';
import type { OffsiteFormat } from './context';
import type { OffsiteCatalog, TrustedOffsiteBackup } from './model';
import type { OffsiteStore } from '../ports/offsite-store';

export async function readOffsiteCatalog(
  store: OffsiteStore,
  format: OffsiteFormat,
  trust: TrustPolicy,
): Promise<OffsiteCatalog> {
  const listing = await store.list();
  const trusted: TrustedOffsiteBackup[] = [];
  const untrusted: { file: string; reason: string }[] = [];
  for (const backup of listing.backups) {
    const check = format.checkManifest(await store.readManifest(backup.manifestFile), backup.file, trust);
    if (check.ok && check.manifest.sizeBytes !== backup.sizeBytes) {
      untrusted.push({
        file: backup.file,
        reason: `its object has ${backup.sizeBytes} bytes but its signed manifest says ${check.manifest.sizeBytes}`,
      });
    } else if (check.ok)
      trusted.push({
        ...backup,
        sha256: check.sha256,
        database: check.database,
        createdAt: check.createdAt,
        manifest: check.manifest,
      });
    else untrusted.push({ file: backup.file, reason: check.reason });
  }
  trusted.sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || b.file.localeCompare(a.file));
  return { trusted, untrusted, incomplete: listing.incomplete, foreign: listing.foreign };
}
