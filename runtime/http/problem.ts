// problem+json (RFC 9457) answers and the one mapping from error kinds to HTTP statuses, for the app and the sidecar.
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { AppError, isAppError, type ErrorKind } from '../../handlers/errors';
import type { Logger } from '../../handlers/ports';
import { maskSecrets } from '../mask';

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

/** Unexpected errors may carry anything (SQL, paths, secrets): logged masked, answered generically. */
export function toAppError(error: unknown, logger: Logger, code = 'INTERNAL', who = 'The server'): AppError {
  if (isAppError(error)) return error;
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
