// The Executor port served by a sidecar over HTTP: same operations, same typed errors as the in-process executor.
import { AppError, isAppError } from '../../handlers/errors';
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
import { cancelled } from '../executor/errors';
import { appErrorFromProblem, SIDECAR_ROUTES, type SidecarLine, type SidecarOperation } from './protocol';

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

const UNREACHABLE_SUGGESTION =
  'Check that the executor sidecar runs (bomnipotent_executor), that executor_url in the database_backup task points at it, and that nothing between them blocks the port.';

/** The transfers that read or write the backup directory: they run where the files are (here, in the sidecar). */
export interface OffsiteTransfer {
  offsiteUpload(
    settings: OffsiteSettings,
    request: OffsiteUpload & { directory: string },
  ): Promise<OffsiteUploadResult>;
  offsiteDownload(settings: OffsiteSettings, request: OffsiteDownload & { directory: string }): Promise<void>;
}

export function createSidecarExecutor(options: SidecarExecutorOptions): Executor & OffsiteTransfer {
  registerSecret(options.token);
  const base = options.url.replace(/\/+$/, '');
  const shownUrl = maskUrl(base);
  const fetchImpl = options.fetch ?? fetch;
  const idleMs = options.idleTimeoutMs ?? DEFAULT_IDLE_MS;

  const unreachable = (reason: string, during?: string) =>
    new AppError(
      'EXECUTOR.SIDECAR_UNREACHABLE',
      'unavailable',
      during
        ? `The executor sidecar at ${shownUrl} stopped answering during the ${during}: ${maskSecrets(reason)}. Nothing was stored by this operation.`
        : `The executor sidecar at ${shownUrl} did not answer: ${maskSecrets(reason)}.`,
      { suggestion: UNREACHABLE_SUGGESTION },
    );

  async function call<T>(
    operation: SidecarOperation,
    body: unknown,
    signal?: AbortSignal,
    signer?: ManifestSigner,
  ): Promise<T> {
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
      throw failure(error, signal, deadline, undefined);
    }
    if (response.status !== 200) throw await refusal(response);
    return readFinalLine<T>(response, operation, idle, signal, deadline, signer);
  }

  /** Signs a manifest the sidecar's dump asks for; the answer goes back on its own request. */
  async function answerSignature(
    id: string,
    manifest: unknown,
    signer: ManifestSigner | undefined,
  ): Promise<void> {
    if (!signer) throw unreachable('the sidecar asked for a signature outside a dump', 'dump');
    const manifestFile = await signer.sign(manifest as BackupManifest);
    const response = await fetchImpl(base + SIDECAR_ROUTES.signature, {
      method: 'POST',
      headers: { authorization: `Bearer ${options.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ id, manifestFile }),
    });
    if (response.status !== 200) throw await refusal(response);
  }

  /** Reads heartbeats until the final line; a stream that ends first means the sidecar died halfway. */
  async function readFinalLine<T>(
    response: Response,
    operation: SidecarOperation,
    idle: AbortController,
    signal: AbortSignal | undefined,
    deadline: AbortSignal,
    signer?: ManifestSigner,
  ): Promise<T> {
    const during = describe(operation);
    if (!response.body) throw unreachable('the answer had no body', during);
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    // Whatever ends the wait (the caller, the deadline, the watchdog) also ends a read that is stuck.
    const stop = AbortSignal.any([deadline, idle.signal, ...(signal ? [signal] : [])]);
    const stopped = new Promise<never>((_resolve, reject) => {
      const fail = () => reject(failure(stop.reason, signal, deadline, during, idle.signal));
      if (stop.aborted) fail();
      else stop.addEventListener('abort', fail, { once: true });
    });
    stopped.catch(() => {}); // observed through the race below
    const arm = () =>
      setTimeout(() => idle.abort(new Error(`no heartbeat for ${Math.round(idleMs / 1000)} s`)), idleMs);
    let watchdog = arm();
    let buffered = '';
    try {
      for (;;) {
        let chunk: Awaited<ReturnType<typeof reader.read>>;
        try {
          chunk = await Promise.race([reader.read(), stopped]);
        } catch (error) {
          throw isAppError(error) ? error : failure(error, signal, deadline, during, idle.signal);
        }
        if (chunk.done) throw unreachable('the connection closed before the operation finished', during);
        clearTimeout(watchdog);
        watchdog = arm();
        buffered += chunk.value;
        let newline: number;
        while ((newline = buffered.indexOf('\n')) >= 0) {
          const text = buffered.slice(0, newline).trim();
          buffered = buffered.slice(newline + 1);
          if (!text) continue;
          const line = parseLine(text, during);
          if ('result' in line) return line.result as T;
          if ('sign' in line) {
            await answerSignature(line.sign.id, line.sign.manifest, signer);
            continue;
          }
          if ('error' in line) {
            // The sidecar reports the cancel as a failure of its own; the caller asked for it.
            if (signal?.aborted) throw failure(signal.reason, signal, deadline, during);
            throw appErrorFromProblem(line.error, `The executor sidecar's ${during} failed.`);
          }
        }
      }
    } finally {
      clearTimeout(watchdog);
      reader.cancel().catch(() => {});
    }
  }

  function parseLine(text: string, during: string): SidecarLine {
    try {
      const value = JSON.parse(text) as unknown;
      if (typeof value === 'object' && value !== null) return value as SidecarLine;
    } catch {
      // fall through
    }
    throw new AppError(
      'EXECUTOR.SIDECAR_PROTOCOL',
      'failed',
      `The executor sidecar at ${shownUrl} sent an answer this server does not understand during the ${during}.`,
      {
        suggestion: 'Run the same version of bomnipotent_executor as of the server.',
      },
    );
  }

  /** The caller's cancel, the day-long deadline, the heartbeat watchdog, or the network itself. */
  function failure(
    error: unknown,
    signal: AbortSignal | undefined,
    deadline: AbortSignal,
    during?: string,
    idleSignal?: AbortSignal,
  ): AppError {
    if (signal?.aborted) {
      return cancelled(during ?? 'executor operation');
    }
    if (deadline.aborted) return unreachable('no answer within the time limit', during);
    if (idleSignal?.aborted)
      return unreachable(String((idleSignal.reason as Error | undefined)?.message ?? 'silence'), during);
    return unreachable(networkReason(error), during);
  }

  /** 401/403/404 mean the server and the sidecar disagree about their settings: a configuration error for the server. */
  async function refusal(response: Response): Promise<AppError> {
    let problem: unknown;
    try {
      problem = await response.json();
    } catch {
      problem = undefined;
    }
    const error = appErrorFromProblem(
      problem,
      `The executor sidecar at ${shownUrl} answered HTTP ${response.status}.`,
    );
    if (response.status === 401 || response.status === 403 || response.status === 404) {
      const code = error.code.startsWith('EXECUTOR.') ? error.code : 'EXECUTOR.SIDECAR_REFUSED';
      return new AppError(
        code,
        'misconfigured',
        `The executor sidecar at ${shownUrl} refused the request: ${error.message}`,
        {
          suggestion:
            error.suggestion ?? 'Check executor_url and executor_token in the database_backup task.',
        },
      );
    }
    return error;
  }

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
    appendAudit: async (directory, record) => {
      await call('appendAudit', { directory, record });
    },
    offsiteUpload: (offsite, { directory, file, manifestFile, sha256, signal }) =>
      call<OffsiteUploadResult>('offsiteUpload', { directory, file, manifestFile, sha256, offsite }, signal),
    offsiteDownload: async (offsite, { directory, file, manifestFile, sha256 }) => {
      await call('offsiteDownload', { directory, file, manifestFile, sha256, offsite });
    },
  };
}

function describe(operation: SidecarOperation): string {
  return operation === 'freeBytes'
    ? 'free space check'
    : operation === 'appendAudit'
      ? 'audit entry'
      : operation;
}

function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

function networkReason(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause as { code?: string; message?: string } | undefined;
  return cause?.message ?? cause?.code ?? error.message;
}
