// Route guards: the request must carry a valid signature (set by the auth middleware) and the right role.
import type { MiddlewareHandler } from 'hono';
import { AppError } from '../../handlers/errors';
import type { Principal } from '../../handlers/accounts/principal';
import type { AppEnv } from '../http-env';

function principalOf(c: { get(key: 'principal'): Principal | undefined }): Principal {
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
        {
          suggestion: `Ask an administrator for a role that holds ${permission}.`,
        },
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
