// A fresh backup-signing key per test file, as the server would generate it.
import { generateKeyPairSync } from 'node:crypto';
import type { BackupMetadata, BackupMetadataSeed, TrustPolicy } from '../../handlers/backup/model';
import type { Executor } from '../../runtime/executor/executor';
import type { ManifestSigner } from '../../handlers/ports/manifest-signer';
import { describeManifest } from '../../handlers/backup/describe-manifest';
import { parseBackupFileName } from '../../handlers/backup/naming';
import { signerFor } from '../../runtime/backups/signing-key';

export function testSigner(): ManifestSigner {
  return signerFor(generateKeyPairSync('ed25519').privateKey);
}

export function trustOf(...signers: ManifestSigner[]): TrustPolicy {
  return { trustedKeys: signers.map((s) => s.publicKey) };
}

/** One key for the executor-level tests of a process. */
export const EXECUTOR_SIGNER = testSigner();
export const EXECUTOR_TRUST: TrustPolicy = trustOf(EXECUTOR_SIGNER);

/**
 * A plain (uncompressed) signed dump under the name the test chose: the executor names files from the seed's time,
 * so the seed gets the time of `file`. Returns the backup as the API describes it.
 */
export async function dumpNamed(
  executor: Executor,
  request: { directory: string; file: string; seed: BackupMetadataSeed; signal?: AbortSignal },
): Promise<BackupMetadata> {
  const takenAt = parseBackupFileName(request.file)?.takenAt ?? new Date();
  const entry = await executor.dump({
    directory: request.directory,
    seed: { ...request.seed, startedAt: takenAt.toISOString() },
    options: { compression: 'none', encryptionRecipients: [] },
    minSequence: 1,
    signer: EXECUTOR_SIGNER,
    ...(request.signal ? { signal: request.signal } : {}),
  });
  return describeManifest(entry.manifest!);
}
