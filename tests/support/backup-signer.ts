// A fresh backup-signing key per test file, as the server would generate it.
import { generateKeyPairSync } from 'node:crypto';
import type { ManifestSigner, TrustPolicy } from '../../handlers/ports';
import { signerFor } from '../../runtime/backup-signing';

export function testSigner(): ManifestSigner {
  return signerFor(generateKeyPairSync('ed25519').privateKey);
}

export function trustOf(...signers: ManifestSigner[]): TrustPolicy {
  return { trustedKeys: signers.map((s) => s.publicKey) };
}
