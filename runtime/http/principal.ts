// The one way to read who made a request (set by the signature check) and the route guards built on it.
import type { Context, MiddlewareHandler } from 'hono';
import type { Principal } from '../../handlers/accounts/principal';
import { AppError } from '../../handlers/errors';
import type { AppEnv } from './env';

/** The signed-in principal, or 401 saying how to sign; guards and handlers call this, nothing reads the variable. */
export function principalOf(c: Context<AppEnv>): Principal {
  const principal = c.get('principal');
  if (!principal) {
    throw new AppError(
      'AUTH.SIGNATURE_MISSING',
      'unauthenticated',
      'This request needs a signed request from a known user.',
      {
        suggestion:
          'Call it with --user and --secret-key (or log in with `bomnipotent_client session login`).',
      },
    );
  }
  return principal;
}

export function requireSignedIn(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    principalOf(c);
    await next();
  };
}

export function requirePermission(permission: string): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const principal = principalOf(c);
    if (!principal.isAdmin && !principal.permissions.has(permission)) {
      throw new AppError(
        'AUTH.FORBIDDEN',
        'forbidden',
        `User '${principal.name}' lacks the permission ${permission}.`,
        { suggestion: `Ask an administrator for a role that holds ${permission}.` },
      );
    }
    await next();
  };
}

export function requireAdmin(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const principal = principalOf(c);
    if (!principal.isAdmin) {
      throw new AppError(
        'AUTH.ADMIN_REQUIRED',
        'forbidden',
        `User '${principal.name}' does not hold the admin role.`,
        {
          suggestion:
            'Only users with the admin role may do this; an admin can grant it with `user-role add <user> admin`.',
        },
      );
    }
    await next();
  };
}
