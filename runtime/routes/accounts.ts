// Account routes: user requests, approvals, key revocation, role assignments and who-am-i; bodies checked at the edge.
import type { Hono } from 'hono';
import { revokeKey } from '../../handlers/accounts/revoke-key';
import type { AccountDeps } from '../../handlers/accounts/deps';
import {
  revokeKeySchema,
  roleNameSchema,
  userNameSchema,
  userRequestSchema,
  userRoleSchema,
} from '../../handlers/accounts/schemas';
import { addUserRole, removeUserRole } from '../../handlers/accounts/user-roles';
import { listUsers, requestUser, setUserStatus } from '../../handlers/accounts/users';
import { whoAmI } from '../../handlers/accounts/who-am-i';
import { parseBody, parseParam } from '../http/body';
import { principalOf, requirePermission, requireSignedIn } from '../http/principal';
import type { AppEnv } from '../http/env';
import { ROUTES } from '../../handlers/api/routes';

export interface AccountRouteDeps {
  accounts: AccountDeps;
}

export function registerAccountRoutes(app: Hono<AppEnv>, deps: AccountRouteDeps): void {
  const d = deps.accounts;

  app.post(ROUTES.requestUser.path, async (c) => {
    const body = await parseBody(c, userRequestSchema);
    return c.json(await requestUser(body, d), 201);
  });

  app.get(ROUTES.listUsers.path, requirePermission('USER_MANAGEMENT'), async (c) =>
    c.json({ users: await listUsers(d) }),
  );

  for (const [route, status] of [
    [ROUTES.approveUser, 'APPROVED'],
    [ROUTES.denyUser, 'DENIED'],
  ] as const) {
    app.post(route.path, requirePermission('USER_MANAGEMENT'), async (c) => {
      const user = parseParam(c, 'user', userNameSchema);
      return c.json(await setUserStatus({ user, status }, principalOf(c), d));
    });
  }

  app.post(ROUTES.revokeKey.path, requirePermission('USER_MANAGEMENT'), async (c) => {
    const user = parseParam(c, 'user', userNameSchema);
    const { fingerprint } = await parseBody(c, revokeKeySchema, { whenEmpty: {} });
    return c.json(await revokeKey({ user, fingerprint }, principalOf(c), d));
  });

  app.post(ROUTES.addRole.path, requirePermission('ROLE_MANAGEMENT'), async (c) => {
    const user = parseParam(c, 'user', userNameSchema);
    const { role } = await parseBody(c, userRoleSchema);
    return c.json(await addUserRole({ user, role }, principalOf(c), d));
  });

  app.delete(ROUTES.removeRole.path, requirePermission('ROLE_MANAGEMENT'), async (c) => {
    const user = parseParam(c, 'user', userNameSchema);
    const role = parseParam(c, 'role', roleNameSchema);
    return c.json(await removeUserRole({ user, role }, principalOf(c), d));
  });

  app.get(ROUTES.whoAmI.path, requireSignedIn(), async (c) => c.json(whoAmI(principalOf(c))));
}
