// The Executor port served by a sidecar over HTTP: same operations, same typed errors as the in-process executor.
import type {
  RestoreReport,
  CatalogEntry,
  PruneResult,
  ToolReport,
  Verification,
} from '../../handlers/backup/model';
import type { Executor } from '../executor/executor';
import type { ManifestSigner } from '../../handlers/ports/manifest-signer';
import type { BackupManifest } from '../../handlers/backup/manifest';
import type {
  OffsiteDownload,
  OffsiteSettings,
  OffsiteUpload,
  OffsiteUploadResult,
} from '../../handlers/offsite/model';
import { maskSecrets, maskUrl, registerSecret } from '../observability/mask';
import type { AuditRecord } from '../../handlers/backup/model';
import type { AuditLink } from '../../handlers/backup/audit-chain';
import type { AuditSeal } from '../executor/audit-log';
import { readFinalLine } from './answer-stream';
import { failure, refusal, unreachable } from './client-errors';
import { SIDECAR_ROUTES, type SidecarOperation } from './protocol';

/** A dump or restore of a big database takes hours: no client-side limit below a day. */
export const LONG_OPERATION_TIMEOUT_MS = 24 * 60 * 60 * 1000;
const SHORT_OPERATION_TIMEOUT_MS = 60 * 60 * 1000; // verify reads a whole dump; list and probe are quick
/** The sidecar writes a heartbeat every 15 s; this long without a byte means it is gone. */
const DEFAULT_IDLE_MS = 90_000;

export interface SidecarExecutorOptions {
  url: string; // e.g. http://127.0.0.1:8091
  token: string;
  fetch?: typeof fetch;
  /** How long the answer may stay silent before the sidecar counts as gone (default 90 s). */
  idleTimeoutMs?: number;
}

/** The transfers that read or write the backup directory: they run where the files are (here, in the sidecar). */
export interface OffsiteTransfer {
  offsiteUpload(
    settings: OffsiteSettings,
    request: OffsiteUpload & { directory: string },
  ): Promise<OffsiteUploadResult>;
  offsiteDownload(settings: OffsiteSettings, request: OffsiteDownload & { directory: string }): Promise<void>;
}

export function createSidecarExecutor(options: SidecarExecutorOptions): Executor & OffsiteTransfer {
  const call = createSidecarCall(options);
  return {
    probe: (serverMajor) => call<ToolReport>('probe', { serverMajor }),
    dump: ({ directory, seed, options: dumpOptions, minSequence, signer, signal }) =>
      call<CatalogEntry>(
        'dump',
        { directory, seed, options: dumpOptions, minSequence, signerPublicKey: signer.publicKey },
        signal,
        signer,
      ),
    list: ({ directory, trust }) => call<CatalogEntry[]>('list', { directory, trust }),
    verify: (directory, file, readOptions) =>
      call<Verification>('verify', { directory, file, options: withoutUndefined(readOptions) }),
    prune: ({ directory, database, keep, trust }) =>
      call<PruneResult>('prune', { directory, database, keep, trust }),
    remove: async (directory, file) => {
      await call('remove', { directory, file });
    },
    freeBytes: (directory) => call<number>('freeBytes', { directory }),
    restore: async ({ directory, file, targetDatabase, read, serverMajor, locale, signal, countRows }) => {
      const report = await call<RestoreReport | null>(
        'restore',
        withoutUndefined({
          directory,
          file,
          targetDatabase,
          read: withoutUndefined(read),
          serverMajor,
          locale,
          countRows,
        }),
        signal,
      );
      const missingRoles = (report?.missingRoles ?? []).filter((r) => typeof r === 'string');
      return { copyRows: report?.copyRows ?? {}, missingRoles };
    },
    writeRehearsal: async (directory, file, recordFile) => {
      await call('writeRehearsal', { directory, file, recordFile });
    },
    appendAudit: async (directory, record, seal) => {
      await call('appendAudit', { directory, record }, undefined, undefined, seal && { record, seal });
    },
    offsiteUpload: (offsite, { directory, file, manifestFile, sha256, signal }) =>
      call<OffsiteUploadResult>('offsiteUpload', { directory, file, manifestFile, sha256, offsite }, signal),
    offsiteDownload: async (offsite, { directory, file, manifestFile, sha256 }) => {
      await call('offsiteDownload', { directory, file, manifestFile, sha256, offsite });
    },
  };
}

function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

type Call = <T>(
  operation: SidecarOperation,
  body: unknown,
  signal?: AbortSignal,
  signer?: ManifestSigner,
  audit?: AuditRequest,
) => Promise<T>;

/** One operation's round trip: the request, a refusal or the answer stream, and a dump's signing requests on the way. */
function createSidecarCall(options: SidecarExecutorOptions): Call {
  registerSecret(options.token);
  const base = options.url.replace(/\/+$/, '');
  const shownUrl = maskUrl(base);
  const fetchImpl = options.fetch ?? fetch;
  const idleMs = options.idleTimeoutMs ?? DEFAULT_IDLE_MS;

  /** Signs a manifest the sidecar's dump asks for; the answer goes back on its own request. */
  const answerSignature = async (id: string, manifest: unknown, signer: ManifestSigner | undefined) => {
    if (!signer) throw unreachable(shownUrl, 'the sidecar asked for a signature outside a dump', 'dump');
    const manifestFile = await signer.sign(manifest as BackupManifest);
    const response = await fetchImpl(base + SIDECAR_ROUTES.signature, {
      method: 'POST',
      headers: { authorization: `Bearer ${options.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ id, manifestFile }),
    });
    if (response.status !== 200) throw await refusal(shownUrl, response);
  };

  /** Signs the audit line the sidecar asks for, when it is the record this call asked for (its time aside). */
  const answerAudit = async (id: string, entry: unknown, audit: AuditRequest | undefined) => {
    const line = entry as AuditRecord & AuditLink;
    if (!audit || !sameRecord(audit.record, line))
      throw unreachable(
        shownUrl,
        'the sidecar asked to sign an audit line this call did not ask for',
        'audit entry',
      );
    const sig = await audit.seal(line);
    const response = await fetchImpl(base + SIDECAR_ROUTES.signature, {
      method: 'POST',
      headers: { authorization: `Bearer ${options.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ id, sig }),
    });
    if (response.status !== 200) throw await refusal(shownUrl, response);
  };

  return async <T>(
    operation: SidecarOperation,
    body: unknown,
    signal?: AbortSignal,
    signer?: ManifestSigner,
    audit?: AuditRequest,
  ) => {
    const long = operation === 'dump' || operation === 'restore' || operation.startsWith('offsite');
    const idle = new AbortController();
    const deadline = AbortSignal.timeout(long ? LONG_OPERATION_TIMEOUT_MS : SHORT_OPERATION_TIMEOUT_MS);
    const combined = AbortSignal.any([deadline, idle.signal, ...(signal ? [signal] : [])]);
    let response: Response;
    try {
      response = await fetchImpl(base + SIDECAR_ROUTES[operation], {
        method: 'POST',
        headers: {
          authorization: `Bearer ${options.token}`,
          'content-type': 'application/json',
          accept: 'application/x-ndjson',
        },
        body: JSON.stringify(body),
        signal: combined,
      });
    } catch (error) {
      throw failure(shownUrl, error, { signal, deadline }, undefined);
    }
    if (response.status !== 200) throw await refusal(shownUrl, response);
    return readFinalLine<T>(response, {
      shownUrl,
      during: describe(operation),
      idleMs,
      idle,
      signal,
      deadline,
      answerSignature: (id, manifest) => answerSignature(id, manifest, signer),
      answerAudit: (id, entry) => answerAudit(id, entry, audit),
    });
  };
}

function describe(operation: SidecarOperation): string {
  return operation === 'freeBytes'
    ? 'free space check'
    : operation === 'appendAudit'
      ? 'audit entry'
      : operation;
}

interface AuditRequest {
  record: AuditRecord;
  seal: AuditSeal;
}

/** The line the sidecar made is the record asked for: every field but its time (the sidecar's clock) and link. */
function sameRecord(record: AuditRecord, line: AuditRecord & AuditLink): boolean {
  if (typeof line !== 'object' || line === null || !Number.isInteger(line.seq)) return false;
  const keys = Object.keys(line).filter((k) => !['at', 'seq', 'prev'].includes(k));
  const asked = Object.keys(record).filter((k) => k !== 'at');
  if (keys.length !== asked.length) return false;
  return asked.every((k) =>
    k === 'message'
      ? line.message === record.message || line.message === maskSecrets(record.message)
      : line[k as keyof AuditRecord] === record[k as keyof AuditRecord],
  );
}
