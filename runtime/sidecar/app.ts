// The executor sidecar's HTTP app: the backup and restore operations of the Executor port, nothing else, behind a token.
// The door (auth.ts), the refusals before anything runs (guards.ts), what each operation runs (operations.ts) and the
// answer stream (stream.ts) are rooms of their own; this file wires them to the routes of protocol.ts.
import { resolve } from 'node:path';
import { Hono } from 'hono';
import { isBackupFileName } from '../../handlers/backup/naming';
import { AppError } from '../../handlers/errors';
import type { Executor } from '../executor/executor';
import type { Logger } from '../../handlers/ports/logger';
import { parseBody } from '../http/body';
import { problemResponse } from '../http/problem';
import { invalidName } from '../executor/errors';
import { limitBody, requireToken } from './auth';
import { createRequestGuards, type SidecarTrust } from './guards';
import type { SidecarOffsite } from './offsite-transfer';
import { sidecarOperations, type Operation } from './operations';
import { SIDECAR_ROUTES, type SidecarOperation } from './protocol';
import { sidecarBodies, type Bodies } from './request-schemas';
import { createPendingSignatures } from './signatures';
import { streamOperation, toSidecarError } from './stream';

export { SIDECAR_MAX_BODY_BYTES } from './auth';
export type { SidecarTrust } from './guards';

const DEFAULT_HEARTBEAT_MS = 15_000;

export interface SidecarAppOptions {
  executor: Executor;
  token: string;
  logger: Logger;
  /** The one backup directory this sidecar serves; a request naming any other is refused. */
  allowedDirectory: string;
  /** The database the sidecar's credentials are for: a restore may only create databases named `<database>_...`. */
  database?: string;
  /** Aborted when the sidecar shuts down: running dumps and restores stop and clean up after themselves. */
  shutdownSignal?: AbortSignal;
  /** How often a running operation writes a heartbeat line (default 15 s). */
  heartbeatMs?: number;
  /** The one off-site store this sidecar copies to; without it off-site transfers are refused. */
  offsite?: SidecarOffsite | undefined;
  /**
   * The sidecar's own trust: the keys whose backups it trusts (undefined: the caller's), and whether it restores an
   * untrusted file on its caller's request (default: refused). A caller cannot widen either.
   */
  trust?: SidecarTrust;
  /** The sidecar's own clock, for the time of the audit records it writes (default: the system's). */
  now?: () => Date;
}

export function createSidecarApp(options: SidecarAppOptions): Hono {
  const { logger } = options;
  const tokenCheck = requireToken(options.token, logger);
  const trust = options.trust ?? { trustedKeys: undefined, allowUnsigned: false };
  const guards = createRequestGuards({
    directory: resolve(options.allowedDirectory),
    database: options.database,
    offsite: options.offsite,
    trust,
    logger,
  });
  const stream = {
    logger,
    heartbeatMs: options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS,
    shutdownSignal: options.shutdownSignal,
  };
  const operations = sidecarOperations({
    executor: options.executor,
    trust,
    offsite: options.offsite,
    signatures: createPendingSignatures(),
    now: options.now ?? (() => new Date()),
  });
  const app = new Hono();

  // Open on purpose: container health checks need no secret, and it runs nothing.
  app.get('/health', (c) => c.json({ status: 'ok' }));
  app.use('/v1/*', limitBody());
  app.use('/v1/*', tokenCheck);

  const route = <K extends SidecarOperation>(operation: K, { describe, run }: Operation<K>) => {
    app.post(SIDECAR_ROUTES[operation], async (c) => {
      const body = await readBody(c, operation);
      if ('directory' in body) guards.checkDirectory(body.directory);
      if (operation === 'signature') {
        await run(body, c.req.raw.signal, () => {});
        return c.json({ accepted: true });
      }
      if (operation === 'verify' && 'file' in body && !isBackupFileName(body.file)) {
        // The in-process executor answers "not ok" here rather than throwing; so does the sidecar, without running it.
        const reason = invalidName('backup file name', body.file).message;
        return streamOperation(c, 'verify of a foreign name', async () => ({ ok: false, reason }), stream);
      }
      guards.checkRequest(operation, body);
      return streamOperation(c, describe(body), (signal, send) => run(body, signal, send), stream);
    });
  };
  (Object.keys(operations) as SidecarOperation[]).forEach(<K extends SidecarOperation>(operation: K) =>
    route(operation, operations[operation]),
  );

  app.notFound((c) =>
    problemResponse(
      c,
      new AppError(
        'EXECUTOR.SIDECAR_NO_ROUTE',
        'not_found',
        `The executor sidecar has no route ${c.req.method} ${c.req.path}.`,
      ),
    ),
  );
  app.onError((error, c) => problemResponse(c, toSidecarError(error, logger)));
  return app;
}

/** The edge's one body parser, with the sidecar's own error code (its client maps it). */
async function readBody<K extends SidecarOperation>(
  c: Parameters<typeof parseBody>[0],
  operation: K,
): Promise<Bodies[K]> {
  const body = await parseBody(c, sidecarBodies[operation], {
    code: 'EXECUTOR.SIDECAR_BAD_REQUEST',
    what: "executor sidecar's request body",
  });
  return body as Bodies[K];
}
