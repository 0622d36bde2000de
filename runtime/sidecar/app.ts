// The executor sidecar's HTTP app: the backup and restore operations of the Executor port, nothing else, behind a token.
import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import { resolve } from 'node:path';
import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { z } from 'zod';
import { isBackupFileName } from '../../handlers/backup/naming';
import { AppError } from '../../handlers/errors';
import { canonicalJson, readTrustedManifest } from '../../handlers/backup/manifest';
import type { Executor } from '../executor/executor';
import type { Logger } from '../../handlers/ports/logger';
import type { ManifestSigner } from '../../handlers/ports/manifest-signer';
import { parseBody } from '../http/body';
import { problemResponse, toAppError as toAppErrorAt, toProblem as toEdgeProblem } from '../http/problem';
import { invalidName } from '../executor/errors';
import {
  NDJSON,
  SIDECAR_ROUTES,
  type SidecarLine,
  type SidecarOperation,
  type SidecarProblem,
} from './protocol';
import { sidecarBodies } from './request-schemas';
import { offsiteStoreFor, sidecarTransferSettings, type SidecarOffsite } from './offsite-transfer';

export const SIDECAR_MAX_BODY_BYTES = 64 * 1024;
export const MIN_TOKEN_LENGTH = 16;
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

export interface SidecarTrust {
  trustedKeys: string[] | undefined;
  allowUnsigned: boolean;
}

type Bodies = { [K in SidecarOperation]: z.output<(typeof sidecarBodies)[K]> };
type Send = (line: SidecarLine) => void;
type Runner<K extends SidecarOperation> = (
  body: Bodies[K],
  signal: AbortSignal,
  send: Send,
) => Promise<unknown>;

/** How long a dump waits for the server to sign its manifest. */
const SIGNATURE_TIMEOUT_MS = 5 * 60 * 1000;

export function createSidecarApp(options: SidecarAppOptions): Hono {
  if (options.token.length < MIN_TOKEN_LENGTH) {
    throw new Error(`The executor sidecar's token must have at least ${MIN_TOKEN_LENGTH} characters.`);
  }
  const { executor, logger } = options;
  const directory = resolve(options.allowedDirectory);
  const expectedDigest = digest(options.token);
  const heartbeatMs = options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
  const own = options.trust ?? { trustedKeys: undefined, allowUnsigned: false };
  const now = options.now ?? (() => new Date());
  /** The trust a request runs with: the sidecar's keys when it has them, whatever the request said. */
  const trustFor = (asked: { trustedKeys: string[] }) => ({
    trustedKeys: own.trustedKeys ?? asked.trustedKeys,
  });
  const app = new Hono();

  // Open on purpose: container health checks need no secret, and it runs nothing.
  app.get('/health', (c) => c.json({ status: 'ok' }));

  app.use(
    '/v1/*',
    bodyLimit({
      maxSize: SIDECAR_MAX_BODY_BYTES,
      onError: () => {
        throw new AppError(
          'EXECUTOR.SIDECAR_BODY_TOO_LARGE',
          'too_large',
          `The request body exceeds ${SIDECAR_MAX_BODY_BYTES} bytes.`,
        );
      },
    }),
  );
  app.use('/v1/*', async (c, next) => {
    if (!bearerMatches(c.req.header('authorization'), expectedDigest)) {
      logger.warn(`Executor sidecar: refused ${c.req.method} ${c.req.path}: missing or wrong token.`);
      throw new AppError(
        'EXECUTOR.SIDECAR_TOKEN_REFUSED',
        'unauthenticated',
        'The executor sidecar refused the request: missing or wrong token.',
        {
          suggestion:
            "Give the server's executor_token the same value as the sidecar's BOMNIPOTENT_EXECUTOR_TOKEN.",
        },
      );
    }
    await next();
  });

  const checkDirectory = (requested: string) => {
    if (resolve(requested) !== directory) {
      throw new AppError(
        'EXECUTOR.SIDECAR_DIRECTORY_REFUSED',
        'forbidden',
        `The executor sidecar serves only the backup directory '${directory}', not '${requested}'.`,
        {
          suggestion:
            "Make the database_backup task's directory the same path as the sidecar's BOMNIPOTENT_EXECUTOR_DIRECTORY.",
        },
      );
    }
  };
  // The same refusal as the in-process executor's, but before anything runs.
  const checkFile = (file: string) => {
    if (!isBackupFileName(file)) throw invalidName('backup file name', file);
  };
  const checkTarget = (target: string) => {
    if (options.database !== undefined && !target.startsWith(`${options.database}_`)) {
      throw new AppError(
        'EXECUTOR.SIDECAR_DATABASE_REFUSED',
        'forbidden',
        `The executor sidecar restores only into databases named '${options.database}_...', not '${target}'.`,
      );
    }
  };

  // A caller asking for an untrusted restore, or signing with a key the sidecar does not trust, is refused and logged.
  const checkUnsigned = () => {
    if (own.allowUnsigned) return;
    logger.warn('Executor sidecar: refused a restore of an untrusted file (--allow-unsigned).');
    throw new AppError(
      'EXECUTOR.SIDECAR_UNSIGNED_REFUSED',
      'forbidden',
      'The executor sidecar restores only trusted backups; it was asked to restore an untrusted file.',
      {
        suggestion:
          'To restore an unsigned or foreign file on purpose, set BOMNIPOTENT_EXECUTOR_ALLOW_UNSIGNED=true on the executor, restart it, restore, then remove the setting.',
      },
    );
  };
  const checkSigner = (publicKey: string) => {
    if (own.trustedKeys === undefined || own.trustedKeys.includes(publicKey)) return;
    logger.warn(`Executor sidecar: refused a dump signed by ${publicKey}, which it does not trust.`);
    throw new AppError(
      'EXECUTOR.SIDECAR_SIGNER_REFUSED',
      'forbidden',
      `The executor sidecar does not trust the key ${publicKey} that would sign this backup.`,
      {
        suggestion:
          "Add the server's backup-signing public key (logged at every start) to the executor's BOMNIPOTENT_EXECUTOR_TRUSTED_KEYS.",
      },
    );
  };

  // Refused before it runs, and logged here: a request for another store is someone trying to move the backups.
  const checkOffsite = (asked: Parameters<typeof sidecarTransferSettings>[1]) => {
    try {
      sidecarTransferSettings(options.offsite, asked);
    } catch (error) {
      logger.warn(`Refused an off-site transfer: ${(error as Error).message}`);
      throw error;
    }
  };

  const register = <K extends SidecarOperation>(
    operation: K,
    describe: (body: Bodies[K]) => string,
    run: Runner<K>,
  ) => {
    app.post(SIDECAR_ROUTES[operation], async (c) => {
      const body = await readBody(c, operation);
      if ('directory' in body) checkDirectory(body.directory);
      if (operation === 'signature') {
        await run(body, c.req.raw.signal, () => {});
        return c.json({ accepted: true });
      }
      if (operation === 'verify' && 'file' in body && !isBackupFileName(body.file)) {
        // The in-process executor answers "not ok" here rather than throwing; so does the sidecar, without running it.
        const reason = invalidName('backup file name', body.file).message;
        return streamOperation(c, 'verify of a foreign name', async () => ({ ok: false, reason }));
      }
      if ('file' in body) checkFile(body.file);
      if ('targetDatabase' in body) checkTarget(body.targetDatabase);
      if ('offsite' in body) checkOffsite(body.offsite);
      if (operation === 'restore' && 'read' in body && body.read.allowUnsigned === true) checkUnsigned();
      if (operation === 'dump' && 'signerPublicKey' in body) checkSigner(body.signerPublicKey);
      return streamOperation(c, describe(body), (signal, send) => run(body, signal, send));
    });
  };

  register(
    'probe',
    (b) => `probe for PostgreSQL ${b.serverMajor}`,
    (b) => executor.probe(b.serverMajor),
  );
  // A dump's manifest is signed by the server: the request goes out as a line, the answer comes on /v1/signature.
  const pendingSignatures = new Map<
    string,
    { manifest: string; publicKey: string; settle: (text: string | Error) => void }
  >();
  const remoteSigner = (publicKey: string, send: Send): ManifestSigner => ({
    publicKey,
    sign: (manifest) =>
      new Promise<string>((resolvePromise, reject) => {
        const id = randomUUID();
        const timer = setTimeout(
          () => settle(new Error('the server did not sign the manifest in time')),
          SIGNATURE_TIMEOUT_MS,
        );
        const settle = (answer: string | Error) => {
          clearTimeout(timer);
          pendingSignatures.delete(id);
          if (answer instanceof Error) reject(answer);
          else resolvePromise(answer);
        };
        pendingSignatures.set(id, { manifest: canonicalJson(manifest), publicKey, settle });
        send({ sign: { id, manifest } });
      }),
  });
  register(
    'dump',
    (b) => `dump of ${b.seed.database}`,
    (b, signal, send) =>
      executor.dump({
        directory: b.directory,
        seed: b.seed,
        options: b.options,
        minSequence: b.minSequence,
        signer: remoteSigner(b.signerPublicKey, send),
        signal,
      }),
  );
  register(
    'signature',
    () => 'signature',
    async (b) => {
      const pending = pendingSignatures.get(b.id);
      if (!pending)
        throw new AppError(
          'EXECUTOR.SIDECAR_NO_SIGNATURE_PENDING',
          'not_found',
          'No dump waits for this signature.',
        );
      // Only a valid signature by the announced key over exactly the pending manifest is accepted.
      const checked = readTrustedManifest(b.manifestFile, [pending.publicKey]);
      if (!checked.ok || canonicalJson(checked.manifest) !== pending.manifest) {
        pending.settle(new Error('the server sent a signature that does not match the manifest'));
        throw new AppError(
          'EXECUTOR.SIDECAR_BAD_SIGNATURE',
          'invalid',
          'The signature does not match the pending manifest.',
        );
      }
      pending.settle(b.manifestFile);
      return null;
    },
  );
  register(
    'list',
    () => 'list',
    (b) => executor.list({ directory: b.directory, trust: trustFor(b.trust) }),
  );
  register(
    'verify',
    (b) => `verify of ${b.file}`,
    (b) => executor.verify(b.directory, b.file, { ...b.options, ...trustFor(b.options) }),
  );
  register(
    'prune',
    (b) => `prune to ${b.keep}`,
    (b) =>
      executor.prune({
        directory: b.directory,
        database: b.database,
        keep: b.keep,
        trust: trustFor(b.trust),
      }),
  );
  register(
    'remove',
    (b) => `removal of ${b.file}`,
    (b) => executor.remove(b.directory, b.file).then(() => null),
  );
  register(
    'freeBytes',
    () => 'free space check',
    (b) => executor.freeBytes(b.directory),
  );
  register(
    'restore',
    (b) => `restore of ${b.file} into ${b.targetDatabase}`,
    (b, signal) => executor.restore({ ...b, read: { ...b.read, ...trustFor(b.read) }, signal }),
  );
  register(
    'offsiteUpload',
    (b) => `off-site upload of ${b.file}`,
    (b, signal) =>
      offsiteStoreFor(sidecarTransferSettings(options.offsite, b.offsite), b.directory).upload({
        file: b.file,
        manifestFile: b.manifestFile,
        sha256: b.sha256,
        signal,
      }),
  );
  register(
    'offsiteDownload',
    (b) => `off-site download of ${b.file}`,
    (b) =>
      offsiteStoreFor(sidecarTransferSettings(options.offsite, b.offsite), b.directory)
        .download({ file: b.file, manifestFile: b.manifestFile, sha256: b.sha256 })
        .then(() => null),
  );
  register(
    'writeRehearsal',
    (b) => `rehearsal record of ${b.file}`,
    (b) => executor.writeRehearsal(b.directory, b.file, b.recordFile).then(() => null),
  );
  register(
    'appendAudit',
    () => 'audit entry',
    // The time is the sidecar's own: a caller cannot date a record into the past or the future.
    (b) => executor.appendAudit(b.directory, { ...b.record, at: now().toISOString() }).then(() => null),
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
  app.onError((error, c) => problemResponse(c, toAppError(error, logger)));

  /** 200 and NDJSON: heartbeats while the operation runs, then the result or the error as the last line. */
  function streamOperation(
    c: Context,
    what: string,
    run: (signal: AbortSignal, send: Send) => Promise<unknown>,
  ): Response {
    const cancelled = new AbortController();
    const signals = [
      c.req.raw.signal,
      cancelled.signal,
      ...(options.shutdownSignal ? [options.shutdownSignal] : []),
    ];
    const signal = AbortSignal.any(signals);
    const started = Date.now();
    let timer: NodeJS.Timeout | undefined;
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        let open = true;
        const send = (line: SidecarLine) => {
          if (!open) return;
          try {
            controller.enqueue(new TextEncoder().encode(JSON.stringify(line) + '\n'));
          } catch {
            open = false; // the client went away; the abort signal stops the operation
          }
        };
        // The first line goes out at once, so that the client sees the operation accepted.
        send({ heartbeat: true });
        timer = setInterval(() => send({ heartbeat: true }), heartbeatMs);
        logger.debug(`Executor sidecar: ${what} started.`);
        run(signal, send)
          .then(
            (result) => {
              logger.info(`Executor sidecar: ${what} finished in ${Date.now() - started} ms.`);
              send({ result: result ?? null });
            },
            (error: unknown) => {
              const appError = toAppError(error, logger);
              logger.warn(`Executor sidecar: ${what} failed: ${appError.code}: ${appError.message}`);
              send({ error: toProblem(appError) });
            },
          )
          .finally(() => {
            clearInterval(timer);
            if (!open) return;
            open = false;
            try {
              controller.close();
            } catch {
              // already closed by a cancel
            }
          });
      },
      cancel() {
        clearInterval(timer);
        cancelled.abort(new Error('The client closed the connection.'));
      },
    });
    return new Response(stream, {
      status: 200,
      headers: { 'content-type': NDJSON, 'cache-control': 'no-store' },
    });
  }

  return app;
}

/** The edge's one body parser, with the sidecar's own error code (its client maps it). */
async function readBody<K extends SidecarOperation>(c: Context, operation: K): Promise<Bodies[K]> {
  const body = await parseBody(c, sidecarBodies[operation], {
    code: 'EXECUTOR.SIDECAR_BAD_REQUEST',
    what: "executor sidecar's request body",
  });
  return body as Bodies[K];
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/** Constant time over digests of equal length, so that neither the token's content nor its length leaks. */
function bearerMatches(header: string | undefined, expected: Buffer): boolean {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  if (!match?.[1]) return false;
  return timingSafeEqual(digest(match[1]), expected);
}

function toAppError(error: unknown, logger: Logger): AppError {
  return toAppErrorAt(error, logger, 'EXECUTOR.SIDECAR_INTERNAL', 'The executor sidecar');
}

/** Problems on the NDJSON stream have the same shape as the edge's problem+json answers. */
export function toProblem(error: AppError): SidecarProblem {
  return toEdgeProblem(error);
}
