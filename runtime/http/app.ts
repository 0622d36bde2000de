// The one Hono app: middleware, routes -> handlers, and errors -> HTTP (problem+json) in exactly one place.
import { Hono, type MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { AppError } from '../../handlers/errors';
import type { Logger } from '../../handlers/ports/logger';
import type { MaintenanceMode } from '../../handlers/ports/maintenance';
import type { HealthDeps } from '../../handlers/health';
import type { ReadinessDeps } from '../../handlers/readiness';
import type { AppEnv } from './env';
import { requireCanonicalPath } from './canonical-path';
import { problemResponse, READ_ONLY_CODE, statusOf, toAppError } from './problem';
import { readBodyWithin } from './read-body';
import { registerHealthRoutes } from '../routes/health';
import { registerAccountRoutes, type AccountRouteDeps } from '../routes/accounts';
import { registerBackupRoutes, type BackupRouteDeps } from '../routes/backups';
import { registerStatusRoutes, type StatusRouteDeps } from '../routes/status';

export const MAX_BODY_BYTES = 1024 * 1024;
const DEFAULT_BODY_TIMEOUT_MS = 10_000;

export interface AppDeps {
  logger: Logger;
  health: HealthDeps;
  /** GET /ready: can backups run now (none in tests that do not exercise it). */
  readiness?: ReadinessDeps;
  maintenance: MaintenanceMode;
  /** Verifies a signature when the request carries one and sets `principal`; refuses bad ones with 401. */
  authenticate: MiddlewareHandler<AppEnv>;
  /** Per-address request budgets; runs before the body is read. None in tests that do not exercise it. */
  rateLimit?: MiddlewareHandler<AppEnv>;
  /** How long a request body may take to arrive (dos_prevention.body_timeout); 10 s unless told. */
  bodyTimeoutMs?: () => number;
  accounts: AccountRouteDeps;
  backups: BackupRouteDeps;
  /** The status at a glance (JSON for admins, the optional page); none in tests that do not exercise it. */
  status?: StatusRouteDeps;
  /** Told of each write PostgreSQL refused as read-only (a restore, or one killed: see runtime/read-only-heal.ts). */
  onWritesRefused?: () => void;
}

/** The status of an error kind: one mapping, in runtime/http/problem.ts (re-exported for existing imports). */
export { statusOf };

export function createApp(deps: AppDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.use('*', requireCanonicalPath());
  if (deps.rateLimit) app.use('*', deps.rateLimit);
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
  // The whole body first: only then does a request count as a running write that a restore waits for.
  app.use('*', readBodyWithin(deps.bodyTimeoutMs ?? (() => DEFAULT_BODY_TIMEOUT_MS)));
  app.use('*', maintenanceGate(deps.maintenance));
  app.use('*', deps.authenticate);

  registerHealthRoutes(app, deps.health, deps.readiness);
  registerAccountRoutes(app, deps.accounts);
  registerBackupRoutes(app, deps.backups);
  registerStatusRoutes(app, deps.status);

  app.notFound((c) =>
    problemResponse(
      c,
      new AppError('REQUEST.NOT_FOUND', 'not_found', `No route for ${c.req.method} ${c.req.path}.`),
    ),
  );

  // A restore answers 503 on purpose (its gate, the read-only database, the sessions its swap ends): no ERROR line.
  app.onError((error, c) => {
    const appError = toAppError(error, deps.logger);
    if (appError.code === READ_ONLY_CODE) deps.onWritesRefused?.();
    const status = statusOf(appError.kind);
    // The logger escapes control characters: a crafted path cannot forge log lines.
    const line = `${c.req.method} ${c.req.path} -> ${status} ${appError.code}: ${appError.message}`;
    if (appError.code === 'SERVER.MAINTENANCE') deps.logger.info(line);
    else if (appError.code === 'SERVER.DATABASE_INTERRUPTED' || appError.code === READ_ONLY_CODE)
      deps.logger.warn(line);
    else if (status >= 500) deps.logger.error(line);
    else deps.logger.debug(line);
    return problemResponse(c, appError);
  });

  return app;
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
