// The sidecar's door: a body size limit and the bearer token, before any operation reads its request.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { AppError } from '../../handlers/errors';
import type { Logger } from '../../handlers/ports/logger';

export const SIDECAR_MAX_BODY_BYTES = 64 * 1024;
export const MIN_TOKEN_LENGTH = 16;

export function limitBody(): MiddlewareHandler {
  return bodyLimit({
    maxSize: SIDECAR_MAX_BODY_BYTES,
    onError: () => {
      throw new AppError(
        'EXECUTOR.SIDECAR_BODY_TOO_LARGE',
        'too_large',
        `The request body exceeds ${SIDECAR_MAX_BODY_BYTES} bytes.`,
      );
    },
  });
}

/** Refuses a request without the sidecar's token (logged: someone is knocking with the wrong key). */
export function requireToken(token: string, logger: Logger): MiddlewareHandler {
  if (token.length < MIN_TOKEN_LENGTH) {
    throw new Error(`The executor sidecar's token must have at least ${MIN_TOKEN_LENGTH} characters.`);
  }
  const expectedDigest = digest(token);
  return async (c, next) => {
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
  };
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
