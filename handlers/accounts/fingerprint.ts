// A public key's fingerprint, as `user request` prints it and tmp_admin names it: "SHA256:" and the unpadded base64
// of the SHA-256 of the key's SPKI DER bytes (the style of ssh-keygen -l).
import { createHash, createPublicKey } from 'node:crypto';

export function keyFingerprint(publicKeyPem: string): string {
  const der = createPublicKey({ key: publicKeyPem, format: 'pem' }).export({ type: 'spki', format: 'der' });
  return 'SHA256:' + createHash('sha256').update(der).digest('base64').replace(/=+$/, '');
}
