// Account routes: user requests, approvals, role assignments and who-am-i; bodies checked with zod at the edge.
import type { Context, Hono } from 'hono';
import type { z } from 'zod';
import type { AccountDeps } from '../../handlers/accounts/deps';
import {
  roleNameSchema,
  userNameSchema,
  userRequestSchema,
  userRoleSchema,
} from '../../handlers/accounts/schemas';
import { addUserRole, removeUserRole } from '../../handlers/accounts/user-roles';
import { listUsers, requestUser, setUserStatus } from '../../handlers/accounts/users';
import { whoAmI } from '../../handlers/accounts/who-am-i';
import { AppError } from '../../handlers/errors';
import type { Principal } from '../../handlers/accounts/principal';
import { requirePermission, requireSignedIn } from '../auth/require';
import type { AppEnv } from '../http-env';

export interface AccountRouteDeps {
  accounts: AccountDeps;
}

function invalid(what: string, error: z.ZodError): AppError {
  const issues = error.issues
    .map((i) => `${i.path.length ? i.path.join('.') + ': ' : ''}${i.message}`)
    .join('; ');
  return new AppError('REQUEST.INVALID', 'invalid', `Invalid ${what}: ${issues}.`);
}

async function bodyOf<S extends z.ZodType>(c: Context<AppEnv>, schema: S): Promise<z.infer<S>> {
  let json: unknown;
  try {
    json = await c.req.json();
  } catch {
    throw new AppError('REQUEST.INVALID', 'invalid', 'The request body is not valid JSON.');
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw invalid('request body', parsed.error);
  return parsed.data;
}

function paramOf<S extends z.ZodType>(c: Context<AppEnv>, name: string, schema: S): z.infer<S> {
  const parsed = schema.safeParse(c.req.param(name));
  if (!parsed.success) throw invalid(name, parsed.error);
  return parsed.data;
}

// The guards ran before the handler, so the principal is there.
const principalOf = (c: Context<AppEnv>): Principal => c.get('principal') as Principal;

export function registerAccountRoutes(app: Hono<AppEnv>, deps: AccountRouteDeps): void {
  const d = deps.accounts;

  app.post('/users', async (c) => {
    const body = await bodyOf(c, userRequestSchema);
    return c.json(await requestUser(body, d), 201);
  });

  app.get('/users', requirePermission('USER_MANAGEMENT'), async (c) => c.json({ users: await listUsers(d) }));

  for (const [verb, status] of [
    ['approve', 'APPROVED'],
    ['deny', 'DENIED'],
  ] as const) {
    app.post(`/users/:user/${verb}`, requirePermission('USER_MANAGEMENT'), async (c) => {
      const user = paramOf(c, 'user', userNameSchema);
      return c.json(await setUserStatus({ user, status }, principalOf(c), d));
    });
  }

  app.post('/users/:user/roles', requirePermission('ROLE_MANAGEMENT'), async (c) => {
    const user = paramOf(c, 'user', userNameSchema);
    const { role } = await bodyOf(c, userRoleSchema);
    return c.json(await addUserRole({ user, role }, principalOf(c), d));
  });

  app.delete('/users/:user/roles/:role', requirePermission('ROLE_MANAGEMENT'), async (c) => {
    const user = paramOf(c, 'user', userNameSchema);
    const role = paramOf(c, 'role', roleNameSchema);
    return c.json(await removeUserRole({ user, role }, principalOf(c), d));
  });

  app.get('/who-am-i', requireSignedIn(), async (c) => c.json(whoAmI(principalOf(c))));
}
