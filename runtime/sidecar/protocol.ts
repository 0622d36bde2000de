// The wire format between the server (sidecar-client.ts) and the executor sidecar (sidecar-app.ts).
// Every operation is POST /v1/<route> with a JSON body. Refusals before an operation starts (token, directory, file
// name, body) answer problem+json with their status. Once an operation runs, the answer is 200 with an NDJSON stream:
// heartbeat lines while it runs (so that no proxy or fetch timeout ends a dump of many hours), then one final line
// holding either the result or the error. A stream that ends without that line means the sidecar died halfway.
import { AppError, type ErrorKind } from '../../handlers/errors';
import { PROBLEM_JSON, type Problem } from '../http/problem';

export const SIDECAR_ROUTES = {
  probe: '/v1/probe',
  dump: '/v1/dump',
  list: '/v1/list',
  verify: '/v1/verify',
  prune: '/v1/prune',
  remove: '/v1/remove',
  signature: '/v1/signature',
  freeBytes: '/v1/free-bytes',
  restore: '/v1/restore',
  appendAudit: '/v1/audit',
  writeRehearsal: '/v1/rehearsal-record',
  offsiteUpload: '/v1/offsite-upload',
  offsiteDownload: '/v1/offsite-download',
} as const;

export type SidecarOperation = keyof typeof SIDECAR_ROUTES;

export const NDJSON = 'application/x-ndjson';
export { PROBLEM_JSON };

/** problem+json as the main app answers it, plus the kind, so that the client rebuilds the very same AppError. */
export type SidecarProblem = Problem;

/** One line of the answer stream. */
export type SidecarLine =
  | { heartbeat: true }
  | { result: unknown }
  | { error: SidecarProblem }
  /** A dump asks the server to sign its manifest (the key never leaves the server); answered on /v1/signature. */
  | { sign: { id: string; manifest: unknown } }
  /** An audit line asks the server to sign it (linked by the sidecar, signed as the server's own are). */
  | { signAudit: { id: string; entry: unknown } };

const KINDS: ReadonlySet<string> = new Set<ErrorKind>([
  'invalid',
  'unauthenticated',
  'forbidden',
  'not_found',
  'conflict',
  'too_large',
  'too_many',
  'failed',
  'unavailable',
  'misconfigured',
]);

export function isErrorKind(value: unknown): value is ErrorKind {
  return typeof value === 'string' && KINDS.has(value);
}

/** The AppError a problem describes; anything malformed becomes a generic failure rather than a crash. */
export function appErrorFromProblem(value: unknown, fallbackMessage: string): AppError {
  const problem = (typeof value === 'object' && value !== null ? value : {}) as Partial<SidecarProblem>;
  const code = typeof problem.code === 'string' ? problem.code : 'EXECUTOR.SIDECAR_FAILED';
  const kind = isErrorKind(problem.kind) ? problem.kind : 'failed';
  const message = typeof problem.detail === 'string' ? problem.detail : fallbackMessage;
  return new AppError(code, kind, message, {
    ...(typeof problem.suggestion === 'string' ? { suggestion: problem.suggestion } : {}),
    ...(typeof problem.details === 'object' && problem.details !== null ? { details: problem.details } : {}),
  });
}
