// The BackupStore port: the executor that owns the files (in-process or the sidecar), bound once to one directory, the
// trust policy (this server's key and trusted_keys) and the backup-signing key of one settings snapshot.
import type { TrustPolicy } from '../../handlers/backup/model';
import type { BackupTaskSettings } from '../../handlers/backup/settings';
import type { BackupStore } from '../../handlers/ports/backup-store';
import type { ManifestSigner } from '../../handlers/ports/manifest-signer';
import type { Executor } from '../executor/executor';
import type { Clock } from '../../handlers/ports/clock';
import type { Logger } from '../../handlers/ports/logger';
import type { PitrCatalog } from '../../handlers/pitr/window';
import type { HeldWal } from '../../handlers/pitr/summary';
import { readPitrCatalog } from '../pitr/folder';
import { recoverToPoint, requireServerPrograms } from '../pitr/recover';
import { readOffsitePitrCatalog } from '../pitr/offsite-restore';
import { pitrRehearsalStore } from '../pitr/rehearsal-file';
import { databaseNameOf } from '../db/handle';
import { assessAuditChain } from '../../handlers/backup/audit-chain';
import type { AuditSeal } from '../executor/audit-log';
import type { AuditAnchorStore } from '../../handlers/ports/audit-anchor';
import { anchorHook, reanchors } from './audit-anchoring';

/** The seal of audit lines: this server's key when it can be used; else the line is linked but not signed. */
function auditSeal(signer: () => ManifestSigner): AuditSeal | undefined {
  let own: ManifestSigner;
  try {
    own = signer();
  } catch {
    return undefined;
  }
  const signAudit = own.signAudit?.bind(own);
  return signAudit ? (entry) => signAudit(entry) : undefined;
}

export interface StoreBinding {
  executor: Executor;
  settings: BackupTaskSettings;
  /** The signer of these settings; throws BACKUP.SIGNING_KEY_UNUSABLE when the key cannot be used. */
  signer: () => ManifestSigner;
  /** What point-in-time recovery needs besides the files (continuous = true, local executor). */
  pitr?: PitrBinding | undefined;
  /** Where the audit log's newest line is anchored (the server's database); absent: the head is not checked. */
  anchor?: AuditAnchorStore | undefined;
}

export interface PitrBinding {
  dbUrl: string; // secret
  logger: Logger;
  clock: Clock;
  /** The running capture's last reading of the slot's held-back WAL (null: none yet). */
  heldWal?: () => HeldWal | null;
}

/** This server's own key (when it can be read) and `trusted_keys`. */
export function trustPolicyOf(binding: Omit<StoreBinding, 'executor'>): TrustPolicy {
  const keys = new Set(binding.settings.trustedKeys);
  try {
    keys.add(binding.signer().publicKey);
  } catch {
    // No own key: only trusted_keys count; the start-up log and every backup attempt say why.
  }
  return { trustedKeys: [...keys] };
}

/** The audit log's members: lines signed, and (where this server reads the log) its head anchored and checked. */
function auditMembers(
  binding: StoreBinding,
  trustedKeys: () => string[],
): Pick<BackupStore, 'appendAudit' | 'auditChain'> {
  const { executor, signer } = binding;
  const { directory } = binding.settings;
  const readAudit = executor.readAudit?.bind(executor);
  const readLog = async () => (readAudit ? await readAudit(directory) : '');
  // Anchored only where this server reads the log (not over the sidecar).
  const anchor = readAudit ? binding.anchor : undefined;
  return {
    appendAudit: (record) =>
      executor.appendAudit(
        directory,
        record,
        auditSeal(signer),
        anchor && anchorHook(anchor, readLog, reanchors(record)),
      ),
    ...(executor.readAudit
      ? {
          auditChain: async () =>
            assessAuditChain(
              await readLog(),
              trustedKeys(),
              anchor ? await anchor.read().catch(() => null) : null,
            ),
        }
      : {}),
  };
}

/** Per backup directory, the last reason a tail was not used that was logged. */
const toldTail = new Map<string, string | null>();

/** A tail that does not verify is never used silently: one warning per reason (not one per catalog read). */
function tellTail(directory: string, catalog: PitrCatalog, binding: StoreBinding): PitrCatalog {
  const told = toldTail.get(directory) ?? null;
  if (catalog.tailProblem && catalog.tailProblem !== told)
    binding.pitr?.logger.warn(
      `Continuous protection: ${catalog.tailProblem}; the restorable window ends at the sealed point ${catalog.sealedLatest ?? '(none)'}.`,
    );
  toldTail.set(directory, catalog.tailProblem);
  return catalog;
}

export function bindBackupStore(binding: StoreBinding): BackupStore {
  const { executor, settings, signer } = binding;
  const { directory } = settings;
  // Asked per call, not kept: a key made or fixed later counts from then on, as before the binding.
  const trust = () => trustPolicyOf(binding);
  const identityFile = settings.encryptionIdentityFile;
  return {
    directory,
    pathOf: (file) => (directory.endsWith('/') ? `${directory}${file}` : `${directory}/${file}`),
    trustPolicy: trust,
    signingKey: () => signer().publicKey,
    probeTools: (serverMajor) => executor.probe(serverMajor),
    list: () => executor.list({ directory, trust: trust() }),
    dump: (request) => executor.dump({ ...request, directory, signer: signer() }),
    verify: (file, options = {}) =>
      executor.verify(directory, file, {
        trustedKeys: options.ownKeyOnly ? [signer().publicKey] : trust().trustedKeys,
        ...(options.allowUnsigned === undefined ? {} : { allowUnsigned: options.allowUnsigned }),
        ...(options.checkLoad ? { checkLoad: true } : {}),
        identityFile,
      }),
    prune: ({ database, keep }) => executor.prune({ directory, database, keep, trust: trust() }),
    remove: (file) => executor.remove(directory, file),
    freeBytes: () => executor.freeBytes(directory),
    restore: ({ allowUnsigned, ...request }) =>
      executor.restore({
        ...request,
        directory,
        read: { ...trust(), ...(allowUnsigned ? { allowUnsigned } : {}), identityFile },
      }),
    ...auditMembers(binding, () => trust().trustedKeys),
    writeRehearsal: async (file, record) => {
      const own = signer();
      if (!own.signRehearsal) throw new Error('the backup-signing key cannot sign rehearsal records here');
      await executor.writeRehearsal(directory, file, await own.signRehearsal(record));
    },
    ...(settings.continuous
      ? {
          pitr: async () =>
            tellTail(directory, await readPitrCatalog(directory, trust().trustedKeys), binding),
          pitrHeldWal: () => binding.pitr?.heldWal?.() ?? null,
        }
      : {}),
    ...(settings.continuous && settings.offsite && binding.pitr
      ? {
          pitrOffsite: () =>
            readOffsitePitrCatalog(
              { offsite: settings.offsite!, directory, clock: binding.pitr!.clock },
              trust().trustedKeys,
            ),
        }
      : {}),
    ...(settings.continuous && binding.pitr && settings.executor.kind === 'local'
      ? {
          recoverToPoint: (request) =>
            recoverToPoint({
              ...request,
              ...binding.pitr!,
              directory,
              identityFile,
              trustedKeys: trust().trustedKeys,
              offsite: settings.offsite
                ? { offsite: settings.offsite, directory, clock: binding.pitr!.clock }
                : undefined,
            }),
          checkRecoverPrograms: requireServerPrograms,
          pitrRehearsal: pitrRehearsalStore({
            directory,
            dbUrl: binding.pitr.dbUrl,
            database: databaseNameOf(binding.pitr.dbUrl),
            clock: binding.pitr.clock,
            signer,
            trustedKeys: () => trust().trustedKeys,
          }),
        }
      : {}),
  };
}
