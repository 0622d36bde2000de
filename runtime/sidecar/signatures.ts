// A dump's manifest is signed by the server (the key never leaves it): the request goes out as a line of the dump's
// answer stream, the signed manifest comes back on /v1/signature, and only a valid signature by the announced key over
// exactly the pending manifest is accepted.
import { randomUUID } from 'node:crypto';
import { canonicalJson, readTrustedManifest } from '../../handlers/backup/manifest';
import { AppError } from '../../handlers/errors';
import type { ManifestSigner } from '../../handlers/ports/manifest-signer';
import type { SidecarLine } from './protocol';

/** How long a dump waits for the server to sign its manifest. */
const SIGNATURE_TIMEOUT_MS = 5 * 60 * 1000;

export interface PendingSignatures {
  /** The signer a dump uses: it asks the server through `send` and waits for the answer. */
  remoteSigner(publicKey: string, send: (line: SidecarLine) => void): ManifestSigner;
  /** The server's answer to one request; refused unless it signs exactly the pending manifest. */
  accept(answer: { id: string; manifestFile: string }): void;
}

export function createPendingSignatures(): PendingSignatures {
  const pending = new Map<
    string,
    { manifest: string; publicKey: string; settle: (text: string | Error) => void }
  >();
  return {
    remoteSigner: (publicKey, send) => ({
      publicKey,
      sign: (manifest) =>
        new Promise<string>((resolvePromise, reject) => {
          const id = randomUUID();
          const timer = setTimeout(
            () => settle(new Error('the server did not sign the manifest in time')),
            SIGNATURE_TIMEOUT_MS,
          );
          const settle = (answer: string | Error) => {
            clearTimeout(timer);
            pending.delete(id);
            if (answer instanceof Error) reject(answer);
            else resolvePromise(answer);
          };
          pending.set(id, { manifest: canonicalJson(manifest), publicKey, settle });
          send({ sign: { id, manifest } });
        }),
    }),
    accept: ({ id, manifestFile }) => {
      const waiting = pending.get(id);
      if (!waiting)
        throw new AppError(
          'EXECUTOR.SIDECAR_NO_SIGNATURE_PENDING',
          'not_found',
          'No dump waits for this signature.',
        );
      const checked = readTrustedManifest(manifestFile, [waiting.publicKey]);
      if (!checked.ok || canonicalJson(checked.manifest) !== waiting.manifest) {
        waiting.settle(new Error('the server sent a signature that does not match the manifest'));
        throw new AppError(
          'EXECUTOR.SIDECAR_BAD_SIGNATURE',
          'invalid',
          'The signature does not match the pending manifest.',
        );
      }
      waiting.settle(manifestFile);
    },
  };
}
