// problem+json (RFC 9457) answers and the one mapping from error kinds to HTTP statuses, for the app and the sidecar.
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { AppError, isAppError, type ErrorKind } from '../../handlers/errors';
import type { Logger } from '../../handlers/ports/logger';
import { sessionEnded } from '../db/session-ended';
import { maskSecrets } from '../observability/mask';

export const PROBLEM_JSON = 'application/problem+json';

const STATUS: Record<ErrorKind, ContentfulStatusCode> = {
  invalid: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  timeout: 408,
  conflict: 409,
  too_large: 413,
  too_many: 429,
  failed: 500,
  misconfigured: 500,
  unavailable: 503,
};

export function statusOf(kind: ErrorKind): ContentfulStatusCode {
  return STATUS[kind];
}

export interface Problem {
  type: 'about:blank';
  title: string;
  status: number;
  code: string;
  kind: ErrorKind;
  detail: string;
  suggestion?: string;
  details?: Record<string, unknown>;
}

/** The body of an error answer; messages and suggestions are masked once more in case a secret slipped in. */
export function toProblem(error: AppError): Problem {
  return {
    type: 'about:blank',
    title: error.code,
    status: statusOf(error.kind),
    code: error.code,
    kind: error.kind,
    detail: maskSecrets(error.message),
    ...(error.suggestion ? { suggestion: maskSecrets(error.suggestion) } : {}),
    ...(error.details ? { details: error.details } : {}),
  };
}

export function problemResponse(c: Context, error: AppError): Response {
  const headers: Record<string, string> = { 'content-type': PROBLEM_JSON };
  if (error.retryAfterSeconds !== undefined) headers['retry-after'] = String(error.retryAfterSeconds);
  // A refused body may still be arriving: closing the connection stops a client that keeps sending.
  if (error.kind === 'timeout') headers.connection = 'close';
  return c.body(JSON.stringify(toProblem(error)), statusOf(error.kind), headers);
}

const READ_ONLY_SQL_TRANSACTION = '25006';
export const READ_ONLY_CODE = 'SERVER.READ_ONLY';
/** A session ended by an administrator (a restore ending sessions), a server not taking connections, a database gone. */
const INTERRUPTED = new Set(['57P01', '57P02', '57P03', '3D000']);

/**
 * PostgreSQL refusing for a while, as during a restore on any replica: the database is read-only (SQLSTATE 25006,
 * see DatabaseAdmin.refuseWrites) or its sessions were ended for the swap. 503 with Retry-After, not a failure.
 */
export function databaseRefusal(error: unknown): AppError | null {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === READ_ONLY_SQL_TRANSACTION) {
    return new AppError(
      READ_ONLY_CODE,
      'unavailable',
      'The database refuses writes while a restore replaces it (on this server or another replica); nothing was changed.',
      { suggestion: 'Try again when the restore is over.', retryAfterSeconds: 5 },
    );
  }
  if ((typeof code === 'string' && INTERRUPTED.has(code)) || sessionEnded(error)) {
    return new AppError(
      'SERVER.DATABASE_INTERRUPTED',
      'unavailable',
      'The database connection was ended, as when a restore swaps the database in; the request may not have completed.',
      {
        suggestion: 'Try again in a moment; check the result of a change before repeating it.',
        retryAfterSeconds: 1,
      },
    );
  }
  return null;
}

/** Unexpected errors may carry anything (SQL, paths, secrets): logged masked, answered generically. */
export function toAppError(error: unknown, logger: Logger, code = 'INTERNAL', who = 'The server'): AppError {
  if (isAppError(error)) return error;
  const refusal = databaseRefusal(error);
  if (refusal) return refusal;
  logger.error(
    `Unexpected error: ${maskSecrets(error instanceof Error ? (error.stack ?? error.message) : String(error))}`,
  );
  return new AppError(code, 'failed', `${who} failed unexpectedly; the details are in its log.`);
}

/** What a request failing with this error is answered: a long operation records it as its outcome. */
export function problemOutcome(error: unknown, logger: Logger): { status: number; body: string } {
  const appError = toAppError(error, logger);
  return { status: statusOf(appError.kind), body: JSON.stringify(toProblem(appError)) };
}
