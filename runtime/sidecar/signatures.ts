// A dump's manifest is signed by the server (the key never leaves it): the request goes out as a line of the dump's
// answer stream, the signed manifest comes back on /v1/signature, and only a valid signature by the announced key over
// exactly the pending manifest is accepted.
import { randomUUID } from 'node:crypto';
import { canonicalJson, readTrustedManifest } from '../../handlers/backup/manifest';
import { AppError } from '../../handlers/errors';
import type { ManifestSigner } from '../../handlers/ports/manifest-signer';
import type { SidecarLine } from './protocol';
import { auditSignatureValid, type AuditLink, type AuditSignature } from '../../handlers/backup/audit-chain';
import type { AuditRecord } from '../../handlers/backup/model';
import type { AuditSeal } from '../executor/audit-log';

/** How long a dump waits for the server to sign its manifest. */
const SIGNATURE_TIMEOUT_MS = 5 * 60 * 1000;

export interface PendingSignatures {
  /** The signer a dump uses: it asks the server through `send` and waits for the answer. */
  remoteSigner(publicKey: string, send: (line: SidecarLine) => void): ManifestSigner;
  /** The seal of an audit line: the server signs it (asked through `send`), the sidecar checks the signature. */
  remoteAuditSeal(send: (line: SidecarLine) => void): AuditSeal;
  /** The server's answer to one request; refused unless it signs exactly the pending manifest or audit line. */
  accept(answer: { id: string; manifestFile: string } | { id: string; sig: AuditSignature }): void;
}

/** One request to the server, settled by its answer or after SIGNATURE_TIMEOUT_MS; `ask` returns its forgetting. */
function awaitAnswer<T>(
  what: string,
  ask: (id: string, settle: (answer: T | Error) => void) => () => void,
): Promise<T> {
  return new Promise<T>((resolvePromise, reject) => {
    const id = randomUUID();
    const timer = setTimeout(
      () => settle(new Error(`the server did not sign the ${what} in time`)),
      SIGNATURE_TIMEOUT_MS,
    );
    let forget: () => void = () => {};
    const settle = (answer: T | Error) => {
      clearTimeout(timer);
      forget();
      if (answer instanceof Error) reject(answer);
      else resolvePromise(answer);
    };
    forget = ask(id, settle);
  });
}

export function createPendingSignatures(): PendingSignatures {
  const pending = new Map<
    string,
    { manifest: string; publicKey: string; settle: (text: string | Error) => void }
  >();
  const audits = new Map<
    string,
    { entry: AuditRecord & AuditLink; settle: (sig: AuditSignature | Error) => void }
  >();
  return {
    remoteAuditSeal: (send) => (entry) =>
      awaitAnswer<AuditSignature>('audit line', (id, settle) => {
        audits.set(id, { entry, settle });
        send({ signAudit: { id, entry } });
        return () => void audits.delete(id);
      }),
    remoteSigner: (publicKey, send) => ({
      publicKey,
      sign: (manifest) =>
        awaitAnswer<string>('manifest', (id, settle) => {
          pending.set(id, { manifest: canonicalJson(manifest), publicKey, settle });
          send({ sign: { id, manifest } });
          return () => void pending.delete(id);
        }),
    }),
    accept: (answer) => {
      if ('sig' in answer)
        return settleAnswer(audits.get(answer.id), ['audit line', 'audit line'], answer.sig, (w) =>
          auditSignatureValid(w.entry, answer.sig),
        );
      const { id, manifestFile } = answer;
      settleAnswer(pending.get(id), ['dump', 'manifest'], manifestFile, (w) => {
        const checked = readTrustedManifest(manifestFile, [w.publicKey]);
        return checked.ok && canonicalJson(checked.manifest) === w.manifest;
      });
    },
  };
}

/**
 * Settles the request `waiting` (of a `waiter`, for its `signed` thing) with `value` when `matches`; refused when
 * nothing waits under that id, and refused (the request failed too) when the signature does not match.
 */
function settleAnswer<W extends { settle: (answer: T | Error) => void }, T>(
  waiting: W | undefined,
  [waiter, signed]: [string, string],
  value: T,
  matches: (waiting: W) => boolean,
): void {
  if (!waiting)
    throw new AppError(
      'EXECUTOR.SIDECAR_NO_SIGNATURE_PENDING',
      'not_found',
      `No ${waiter} waits for this signature.`,
    );
  if (!matches(waiting)) {
    waiting.settle(new Error(`the server sent a signature that does not match the ${signed}`));
    throw new AppError(
      'EXECUTOR.SIDECAR_BAD_SIGNATURE',
      'invalid',
      `The signature does not match the pending ${signed}.`,
    );
  }
  waiting.settle(value);
}
