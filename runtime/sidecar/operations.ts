// What each sidecar operation runs, and how its log lines name it: the Executor port's methods, the off-site transfers
// to the sidecar's own store, and the server's answers to a dump's signing requests.
import type { Executor } from '../executor/executor';
import type { SidecarTrust } from './guards';
import { offsiteStoreFor, sidecarTransferSettings, type SidecarOffsite } from './offsite-transfer';
import type { SidecarOperation } from './protocol';
import type { Bodies } from './request-schemas';
import type { PendingSignatures } from './signatures';
import type { Send } from './stream';

export interface Operation<K extends SidecarOperation> {
  describe: (body: Bodies[K]) => string;
  run: (body: Bodies[K], signal: AbortSignal, send: Send) => Promise<unknown>;
}

export type OperationTable = { [K in SidecarOperation]: Operation<K> };

export interface OperationDeps {
  executor: Executor;
  trust: SidecarTrust;
  offsite: SidecarOffsite | undefined;
  signatures: PendingSignatures;
  /** The sidecar's own clock, for the time of the audit records it writes. */
  now: () => Date;
}

export function sidecarOperations(deps: OperationDeps): OperationTable {
  return { ...catalogOperations(deps), ...runningOperations(deps) };
}

type Catalog = 'list' | 'verify' | 'prune' | 'remove' | 'freeBytes' | 'writeRehearsal' | 'appendAudit';

/** The directory as a catalog: listing, verifying and removing backups, and the records beside them. */
function catalogOperations({
  executor,
  trust,
  now,
  signatures,
}: OperationDeps): Pick<OperationTable, Catalog> {
  const trustFor = (asked: { trustedKeys: string[] }) => trustOf(trust, asked);
  return {
    list: {
      describe: () => 'list',
      run: (b) => executor.list({ directory: b.directory, trust: trustFor(b.trust) }),
    },
    verify: {
      describe: (b) => `verify of ${b.file}`,
      run: (b) => executor.verify(b.directory, b.file, { ...b.options, ...trustFor(b.options) }),
    },
    prune: {
      describe: (b) => `prune to ${b.keep}`,
      run: (b) =>
        executor.prune({
          directory: b.directory,
          database: b.database,
          keep: b.keep,
          trust: trustFor(b.trust),
        }),
    },
    remove: {
      describe: (b) => `removal of ${b.file}`,
      run: (b) => executor.remove(b.directory, b.file).then(() => null),
    },
    freeBytes: {
      describe: () => 'free space check',
      run: (b) => executor.freeBytes(b.directory),
    },
    writeRehearsal: {
      describe: (b) => `rehearsal record of ${b.file}`,
      run: (b) => executor.writeRehearsal(b.directory, b.file, b.recordFile).then(() => null),
    },
    appendAudit: {
      describe: () => 'audit entry',
      // The time is the sidecar's own: a caller cannot date a record into the past or the future.
      // The line is linked here and signed by the server's key, as the server's own lines are (signatures.ts).
      run: (b, _signal, send) =>
        executor
          .appendAudit(
            b.directory,
            { ...b.record, at: now().toISOString() },
            signatures.remoteAuditSeal(send),
          )
          .then(() => null),
    },
  };
}

/** The tool pipelines and transfers: probe, dump (with its signing round trip), restore, off-site copies. */
function runningOperations(deps: OperationDeps): Omit<OperationTable, Catalog> {
  const { executor, trust, signatures } = deps;
  const storeFor = (b: Bodies['offsiteUpload']) =>
    offsiteStoreFor(sidecarTransferSettings(deps.offsite, b.offsite), b.directory);
  return {
    probe: {
      describe: (b) => `probe for PostgreSQL ${b.serverMajor}`,
      run: (b) => executor.probe(b.serverMajor),
    },
    dump: {
      describe: (b) => `dump of ${b.seed.database}`,
      run: (b, signal, send) =>
        executor.dump({
          directory: b.directory,
          seed: b.seed,
          options: b.options,
          minSequence: b.minSequence,
          signer: signatures.remoteSigner(b.signerPublicKey, send),
          signal,
        }),
    },
    signature: {
      describe: () => 'signature',
      run: async (b) => {
        signatures.accept(b);
        return null;
      },
    },
    restore: {
      describe: (b) => `restore of ${b.file} into ${b.targetDatabase}`,
      run: (b, signal) =>
        executor.restore({
          ...b,
          read: { ...b.read, ...trustOf(trust, b.read) },
          signal,
        }),
    },
    offsiteUpload: {
      describe: (b) => `off-site upload of ${b.file}`,
      run: (b, signal) =>
        storeFor(b).upload({ file: b.file, manifestFile: b.manifestFile, sha256: b.sha256, signal }),
    },
    offsiteDownload: {
      describe: (b) => `off-site download of ${b.file}`,
      run: (b) =>
        storeFor(b)
          .download({ file: b.file, manifestFile: b.manifestFile, sha256: b.sha256 })
          .then(() => null),
    },
  };
}

/** The trust a request runs with: the sidecar's keys when it has them, whatever the request said. */
function trustOf(own: SidecarTrust, asked: { trustedKeys: string[] }): { trustedKeys: string[] } {
  return { trustedKeys: own.trustedKeys ?? asked.trustedKeys };
}
