// The one Hono app: middleware, routes -> handlers, and errors -> HTTP (problem+json) in exactly one place.
import { Hono, type MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { AppError, isAppError, type ErrorKind } from '../handlers/errors';
import type { Logger, MaintenanceMode } from '../handlers/ports';
import type { HealthDeps } from '../handlers/health';
import type { AppEnv } from './http-env';
import { maskSecrets } from './mask';
import { registerHealthRoutes } from './routes/health';
import { registerAccountRoutes, type AccountRouteDeps } from './routes/accounts';
import { registerBackupRoutes, type BackupRouteDeps } from './routes/backups';

export const MAX_BODY_BYTES = 1024 * 1024;

export interface AppDeps {
  logger: Logger;
  health: HealthDeps;
  maintenance: MaintenanceMode;
  /** Verifies a signature when the request carries one and sets `principal`; refuses bad ones with 401. */
  authenticate: MiddlewareHandler<AppEnv>;
  accounts: AccountRouteDeps;
  backups: BackupRouteDeps;
}

const STATUS: Record<ErrorKind, ContentfulStatusCode> = {
  invalid: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
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

export function createApp(deps: AppDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.use(
    '*',
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: () => {
        throw new AppError(
          'REQUEST.TOO_LARGE',
          'too_large',
          `The request body exceeds ${MAX_BODY_BYTES} bytes.`,
        );
      },
    }),
  );
  app.use('*', maintenanceGate(deps.maintenance));
  app.use('*', deps.authenticate);

  registerHealthRoutes(app, deps.health);
  registerAccountRoutes(app, deps.accounts);
  registerBackupRoutes(app, deps.backups);

  app.notFound((c) =>
    c.json(
      problem(new AppError('REQUEST.NOT_FOUND', 'not_found', `No route for ${c.req.method} ${c.req.path}.`)),
      404,
      {
        'content-type': 'application/problem+json',
      },
    ),
  );

  app.onError((error, c) => {
    const appError = isAppError(error) ? error : toInternal(error, deps.logger);
    const status = statusOf(appError.kind);
    const line = `${c.req.method} ${c.req.path} -> ${status} ${appError.code}: ${appError.message}`;
    if (status >= 500) deps.logger.error(line);
    else deps.logger.debug(line);
    const headers: Record<string, string> = { 'content-type': 'application/problem+json' };
    if (appError.retryAfterSeconds !== undefined) headers['retry-after'] = String(appError.retryAfterSeconds);
    return c.body(JSON.stringify(problem(appError)), status, headers);
  });

  return app;
}

export interface Problem {
  type: string;
  title: string;
  status: number;
  code: string;
  detail: string;
  suggestion?: string;
  details?: Record<string, unknown>;
}

function problem(error: AppError): Problem {
  return {
    type: 'about:blank',
    title: error.code,
    status: statusOf(error.kind),
    code: error.code,
    detail: maskSecrets(error.message),
    ...(error.suggestion ? { suggestion: maskSecrets(error.suggestion) } : {}),
    ...(error.details ? { details: error.details } : {}),
  };
}

/** What a request failing with this error is answered: a long operation records it as its outcome. */
export function problemOutcome(error: unknown, logger: Logger): { status: number; body: string } {
  const appError = isAppError(error) ? error : toInternal(error, logger);
  return { status: statusOf(appError.kind), body: JSON.stringify(problem(appError)) };
}

function toInternal(error: unknown, logger: Logger): AppError {
  // Unexpected errors may carry anything (SQL, paths, secrets): log them masked, answer generically.
  logger.error(
    `Unexpected error: ${maskSecrets(error instanceof Error ? (error.stack ?? error.message) : String(error))}`,
  );
  return new AppError('INTERNAL', 'failed', 'The server failed unexpectedly; the details are in its log.');
}

const READS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** During a restore: writes get 503 while the scratch copy is built, everything but /health during the swap. */
function maintenanceGate(maintenance: MaintenanceMode): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const { phase, reason } = maintenance.get();
    // While the scratch copy is built, backup routes pass: the backup/restore lock answers them with 409,
    // which says more than 503. During the swap the database is gone for a moment: only /health answers.
    const backupRoute = c.req.path.startsWith('/database-backup');
    const blocked =
      c.req.path !== '/health' &&
      (phase === 'unavailable' || (phase === 'read-only' && !READS.has(c.req.method) && !backupRoute));
    if (blocked) {
      throw new AppError('SERVER.MAINTENANCE', 'unavailable', `The server is in maintenance: ${reason}.`, {
        suggestion: 'Try again in a few seconds.',
        retryAfterSeconds: phase === 'unavailable' ? 1 : 5,
      });
    }
    if (READS.has(c.req.method) || backupRoute) return next();
    // A write that got past the gate: a restore waits for it before building its copy, so it is not lost.
    const ended = maintenance.writeStarted();
    try {
      await next();
    } finally {
      ended();
    }
  };
}
