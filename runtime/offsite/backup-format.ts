// The backup format as the off-site use cases see it: format 2, a data file (`.dump.zst`, ...) and its signed
// `.manifest.json`. The signed manifest is the commit marker in the store; the data's checksum comes from it (and only
// from a manifest signed by a key this server trusts) and is checked on every transfer.
import type { OffsiteFormat } from '../../handlers/offsite/context';
import type { LocalBackup, ManifestCheck } from '../../handlers/offsite/model';
import { readTrustedManifest } from '../../handlers/backup/manifest';
import { dataFileOfManifest, isBackupFileName, manifestFileName } from '../../handlers/backup/naming';
import type { TrustPolicy } from '../../handlers/backup/model';
import type { OffsiteNaming } from './naming';

/** Like the local catalog: a clock a little ahead on the signing server is no reason to distrust its backup. */
const FUTURE_TOLERANCE_MS = 5 * 60 * 1000;

export const OFFSITE_NAMING: OffsiteNaming = {
  isDataFile: isBackupFileName,
  manifestFor: manifestFileName,
  dataFileOf: dataFileOfManifest,
  ownedElsewhere: (name) => name.startsWith('pitr/'),
};

/** A manifest read from the store, judged with the same rule as a local one (signature, trusted key, name). */
export function checkSignedManifest(
  bytes: Uint8Array,
  file: string,
  trust: TrustPolicy,
  now: Date,
): ManifestCheck {
  const read = readTrustedManifest(bytes, trust.trustedKeys, file);
  if (!read.ok) return { ok: false, reason: read.reason };
  const { manifest } = read;
  if (Date.parse(manifest.createdAt) > now.getTime() + FUTURE_TOLERANCE_MS)
    return { ok: false, reason: `its signed creation time ${manifest.createdAt} lies in the future` };
  return {
    ok: true,
    file,
    sha256: manifest.sha256,
    database: manifest.database,
    createdAt: new Date(manifest.createdAt),
    manifest,
  };
}

export interface Format2Options {
  now: () => Date;
}

export function format2(options: Format2Options): OffsiteFormat {
  return {
    async listLocal(store) {
      // The store's catalog already judged every local backup (signature, size, mtime): only trusted ones go out.
      const entries = await store.list();
      return entries.flatMap((entry): LocalBackup[] => {
        const { manifest } = entry;
        if (entry.state !== 'trusted' || !manifest) return [];
        return [
          {
            file: entry.file,
            manifestFile: manifestFileName(entry.file),
            sha256: manifest.sha256,
            database: manifest.database,
            createdAt: new Date(manifest.createdAt),
          },
        ];
      });
    },
    checkManifest: (bytes, file, trust) => checkSignedManifest(bytes, file, trust, options.now()),
  };
}
