// The backup format as the off-site use cases see it (today's format 1: `<file>.meta.json` holding the SHA-256).
// The manifest is the commit marker in the store; the data's checksum comes from it and is checked on every transfer.
import type { LocalBackup, ManifestCheck, OffsiteFormat } from '../../handlers/offsite/context';
import { isBackupFileName, metadataFileName, parseBackupFileName } from '../../handlers/backup/naming';
import type { Executor } from '../../handlers/ports';
import { manifestNaming, type OffsiteNaming } from './naming';

export const OFFSITE_NAMING: OffsiteNaming = manifestNaming(isBackupFileName, metadataFileName(''));

const SHA256 = /^[0-9a-f]{64}$/;

export function checkFormat1Manifest(bytes: Uint8Array, file: string): ManifestCheck {
  let meta: unknown;
  try {
    meta = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    return { ok: false, reason: 'the manifest is not JSON' };
  }
  const m = (typeof meta === 'object' && meta !== null ? meta : {}) as Record<string, unknown>;
  if (m.file !== file) return { ok: false, reason: 'the manifest names another file' };
  if (typeof m.sha256 !== 'string' || !SHA256.test(m.sha256))
    return { ok: false, reason: 'the manifest has no SHA-256' };
  const createdAt = typeof m.startedAt === 'string' ? new Date(m.startedAt) : new Date(NaN);
  if (Number.isNaN(createdAt.getTime())) return { ok: false, reason: 'the manifest has no creation time' };
  const database = parseBackupFileName(file)?.database;
  if (typeof m.database !== 'string' || m.database !== database) {
    return { ok: false, reason: 'the manifest names another database than the file name' };
  }
  return { ok: true, file, sha256: m.sha256, database, createdAt };
}

export function format1(executor: () => Executor): OffsiteFormat {
  return {
    async listLocal(directory) {
      const entries = await executor().list(directory);
      return entries.flatMap((entry): LocalBackup[] => {
        if (!entry.metadata) return [];
        const bytes = new TextEncoder().encode(JSON.stringify(entry.metadata));
        const check = checkFormat1Manifest(bytes, entry.file);
        return check.ok ? [{ ...check, manifestFile: OFFSITE_NAMING.manifestFor(entry.file) }] : [];
      });
    },
    checkManifest: checkFormat1Manifest,
  };
}
