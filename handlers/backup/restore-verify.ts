// The checks of a chosen backup before a restore: read in full where the restore itself will not (a dry run, a file
// restored with --allow-unsigned), and a schema this server knows.
import { AppError } from '../errors';
import type { BackupMetadata, CatalogEntry, LoadCheck } from './model';
import type { BackupStore } from '../ports/backup-store';
import { describeManifest } from './describe-manifest';
import type { RestoreDeps } from './restore-plan';

/**
 * A trusted backup is read in full by the restore itself (checked, then fed from the same descriptor); a dry run,
 * and any file restored with --allow-unsigned, is read in full here first.
 */
export async function verifyForRestore(
  ctx: RestoreDeps,
  store: BackupStore,
  entry: CatalogEntry,
  dryRun: boolean,
): Promise<{ metadata: BackupMetadata; load: LoadCheck | undefined }> {
  const { file, path } = entry;
  let metadata: BackupMetadata | null = entry.manifest ? describeManifest(entry.manifest) : entry.legacy;
  let load: LoadCheck | undefined;
  if (dryRun || entry.state !== 'trusted') {
    // A dry run reads the dump as the restore would load it here: a line the restore would refuse fails it now.
    const verification = await store.verify(file, {
      allowUnsigned: entry.state !== 'trusted',
      ...(dryRun ? { checkLoad: true } : {}),
    });
    if (!verification.ok) {
      // Never fall back to an older file: the admin must see that the chosen backup is bad.
      throw new AppError(
        'BACKUP.VERIFICATION_FAILED',
        'conflict',
        `The backup '${path}' fails verification: ${verification.reason}`,
        {
          suggestion:
            'Nothing was changed. Restore another backup by name with --file <name>, after checking it.',
          details: { file },
        },
      );
    }
    metadata = verification.metadata;
    load = verification.load;
    if (entry.state !== 'trusted') {
      ctx.logger.warn(
        `Restoring '${file}' WITHOUT a trusted signature (${entry.reason ?? entry.state}), on purpose with --allow-unsigned; its SHA-256 is ${verification.metadata.sha256}.`,
      );
    }
  }
  if (!metadata) throw new Error(`no description of ${file}`);
  checkSchemaKnown(ctx, metadata, path);
  return { metadata, load };
}

export function checkSchemaKnown(ctx: RestoreDeps, metadata: BackupMetadata, path: string): void {
  if (metadata.schemaVersion <= ctx.lifecycle.knownSchemaVersion) return;
  throw new AppError(
    'BACKUP.SCHEMA_TOO_NEW',
    'conflict',
    `The backup '${path}' has schema version ${metadata.schemaVersion}, newer than this server knows (${ctx.lifecycle.knownSchemaVersion}).`,
    {
      suggestion: `Nothing was changed. Restore it with a server of version ${metadata.appVersion} or newer.`,
      details: { file: metadata.file },
    },
  );
}
