// Refuses request paths that route differently from how they read: the router decodes %XX before matching, so
// "/%6detrics" would reach /metrics past a proxy rule that blocks "/metrics". Unreserved characters (RFC 3986:
// letters, digits, - . _ ~) never need escaping, so a conforming client never sends them escaped.
import type { MiddlewareHandler } from 'hono';
import { AppError } from '../../handlers/errors';
import type { AppEnv } from './env';

const ESCAPED_UNRESERVED = /%(?:[46][1-9A-Fa-f]|[57][0-9Aa]|3[0-9]|2[Dd]|2[Ee]|5[Ff]|7[Ee])/;

/** A reason when the path is not in its one canonical form, else undefined. */
export function nonCanonicalPath(pathname: string): string | undefined {
  if (ESCAPED_UNRESERVED.test(pathname)) return 'it escapes a character that needs no escaping';
  if (/%(?![0-9A-Fa-f]{2})/.test(pathname)) return 'it holds a "%" that starts no escape';
  return undefined;
}

/** The raw request-target as received (before URL parsing): fragments, dot segments and backslashes are refused too. */
export function nonCanonicalTarget(target: string): string | undefined {
  // A fragment is never sent (RFC 9110 7.1); URL parsing would drop it and route "/metrics#x" to /metrics.
  if (target.includes('#')) return 'it holds a fragment ("#"), which a client never sends';
  const path = target.split('?')[0] ?? '';
  if (!path.startsWith('/')) return 'it does not start with "/"';
  if (path.includes('\\')) return 'it holds a backslash';
  if (/(^|\/)\.\.?(\/|$)/.test(path)) return 'it holds a "." or ".." segment';
  return nonCanonicalPath(path);
}

export function pathCanonicalError(reason: string): AppError {
  return new AppError('REQUEST.PATH_NOT_CANONICAL', 'invalid', `The request path is refused: ${reason}.`, {
    suggestion:
      'Send the path as the client builds it: unescaped letters and digits, no "." or ".." segments.',
  });
}

export function requireCanonicalPath(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const reason = nonCanonicalPath(new URL(c.req.url).pathname);
    if (reason) throw pathCanonicalError(reason);
    await next();
  };
}
