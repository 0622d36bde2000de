// user-role add / remove: assignments of roles to users; only an admin may give or take the admin role.
import { AppError } from '../errors';
import type { AccountDeps } from './deps';
import { normalizeUserName } from './names';
import { ADMIN_ROLE } from './permissions';
import type { Principal } from './principal';
import { lastAdmin, unknownUser } from './users';

export interface UserRoleChange {
  user: string;
  role: string;
}

async function checkChange(input: UserRoleChange, principal: Principal, deps: AccountDeps): Promise<string> {
  const name = normalizeUserName(input.user);
  if (input.role === ADMIN_ROLE && !principal.isAdmin) {
    throw new AppError(
      'ROLE.ADMIN_ONLY',
      'forbidden',
      `Only an admin may give or take the role '${ADMIN_ROLE}'.`,
    );
  }
  if (!(await deps.store.findUser(name))) throw unknownUser(name);
  if (input.role !== ADMIN_ROLE && !(await deps.store.roleExists(input.role))) {
    throw new AppError('ROLE.UNKNOWN', 'not_found', `There is no role '${input.role}'.`, {
      suggestion: `Known roles: ${ADMIN_ROLE} and the roles stored on the server (e.g. user_manager, role_manager).`,
    });
  }
  return name;
}

export async function addUserRole(
  input: UserRoleChange,
  principal: Principal,
  deps: AccountDeps,
): Promise<UserRoleChange & { changed: boolean }> {
  const name = await checkChange(input, principal, deps);
  const changed = await deps.store.addRole(name, input.role);
  if (changed) deps.logger.info(`User '${principal.name}' gave the role '${input.role}' to '${name}'.`);
  return { user: name, role: input.role, changed };
}

export async function removeUserRole(
  input: UserRoleChange,
  principal: Principal,
  deps: AccountDeps,
): Promise<UserRoleChange & { changed: boolean }> {
  const name = await checkChange(input, principal, deps);
  const outcome = await deps.store.removeRole(name, input.role);
  if (outcome === 'last_admin') throw lastAdmin(name, `take the role '${ADMIN_ROLE}' from`);
  if (outcome === 'unchanged') {
    throw new AppError(
      'ROLE.NOT_ASSIGNED',
      'not_found',
      `The user '${name}' does not hold the role '${input.role}'.`,
    );
  }
  deps.logger.info(`User '${principal.name}' took the role '${input.role}' from '${name}'.`);
  return { user: name, role: input.role, changed: true };
}
