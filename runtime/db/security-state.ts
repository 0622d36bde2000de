// Security state through a restore: it only moves forward. What the replaced database says about keys, denials and
// role removals made after the backup was taken wins over the backup, and a restore must not lock the admins out.
import type pg from 'pg';

/** True when the database has the accounts tables (a backup of a very old schema may not). */
async function hasAccounts(client: pg.ClientBase): Promise<boolean> {
  const { rows } = await client.query<{ ok: boolean }>(
    `SELECT to_regclass('public.users') IS NOT NULL AND to_regclass('public.user_keys') IS NOT NULL
        AND to_regclass('public.user_roles') IS NOT NULL AS ok`,
  );
  return rows[0]?.ok === true;
}

interface Accounts {
  users: { name: string; status: string; created_at: Date }[];
  keys: { user_name: string; public_key: string; revoked_at: Date | null; valid: boolean }[];
  roles: { user_name: string; role: string }[];
}

async function readAccounts(client: pg.ClientBase): Promise<Accounts> {
  if (!(await hasAccounts(client))) return { users: [], keys: [], roles: [] };
  const users = await client.query<Accounts['users'][number]>('SELECT name, status, created_at FROM users');
  const keys = await client.query<Accounts['keys'][number]>(
    'SELECT user_name, public_key, revoked_at, (revoked_at IS NULL AND expires_at > now()) AS valid FROM user_keys',
  );
  const roles = await client.query<Accounts['roles'][number]>('SELECT user_name, role FROM user_roles');
  return { users: users.rows, keys: keys.rows, roles: roles.rows };
}

const sameAccount = (a: { name: string; created_at: Date }, b: { name: string; created_at: Date }) =>
  a.name === b.name && a.created_at.getTime() === b.created_at.getTime();

/**
 * The roles the replaced database took from users after the backup: assignments in the restored database of a user
 * who is the same account in both (same name and creation time) but lacks that role in the replaced one.
 */
function removedRoles(restored: Accounts, previous: Accounts): { user_name: string; role: string }[] {
  const previousUsers = new Map(previous.users.map((u) => [u.name, u]));
  const held = new Set(previous.roles.map((r) => `${r.user_name}\n${r.role}`));
  return restored.roles.filter((r) => {
    const before = previousUsers.get(r.user_name);
    const after = restored.users.find((u) => u.name === r.user_name);
    return before && after && sameAccount(before, after) && !held.has(`${r.user_name}\n${r.role}`);
  });
}

/** Takes the removed roles away in the restored database (the target of the carry-over). */
export async function carryRoleRemovals(target: pg.ClientBase, source: pg.ClientBase): Promise<number> {
  const [restored, previous] = [await readAccounts(target), await readAccounts(source)];
  const removed = removedRoles(restored, previous);
  if (removed.length === 0) return 0;
  const result = await target.query(
    `DELETE FROM user_roles ur USING unnest($1::text[], $2::text[]) AS r(user_name, role)
     WHERE ur.user_name = r.user_name AND ur.role = r.role`,
    [removed.map((r) => r.user_name), removed.map((r) => r.role)],
  );
  return result.rowCount ?? 0;
}

/** Approved admins with a valid key, as the database says (the server's own view, before a restore). */
function adminsOf(accounts: Accounts, adminRole: string): string[] {
  return accounts.users
    .filter((u) => u.status === 'APPROVED')
    .filter((u) => accounts.roles.some((r) => r.user_name === u.name && r.role === adminRole))
    .filter((u) => accounts.keys.some((k) => k.user_name === u.name && k.valid))
    .map((u) => u.name);
}

/**
 * The approved admins with a valid key now, and those the restored database will have once the replaced one's
 * revocations, denials and role removals are carried over.
 */
export async function adminsThroughRestore(
  restoredClient: pg.ClientBase,
  previousClient: pg.ClientBase,
  adminRole: string,
): Promise<{ before: string[]; after: string[] }> {
  const [restored, previous] = [await readAccounts(restoredClient), await readAccounts(previousClient)];
  const denied = new Set(previous.users.filter((u) => u.status === 'DENIED').map((u) => u.name));
  const revoked = new Set(
    previous.keys.filter((k) => k.revoked_at !== null).map((k) => `${k.user_name}\n${k.public_key}`),
  );
  const removed = new Set(removedRoles(restored, previous).map((r) => `${r.user_name}\n${r.role}`));
  const carried: Accounts = {
    users: restored.users.map((u) => (denied.has(u.name) ? { ...u, status: 'DENIED' } : u)),
    keys: restored.keys.map((k) =>
      revoked.has(`${k.user_name}\n${k.public_key}`) ? { ...k, valid: false } : k,
    ),
    roles: restored.roles.filter((r) => !removed.has(`${r.user_name}\n${r.role}`)),
  };
  return { before: adminsOf(previous, adminRole), after: adminsOf(carried, adminRole) };
}
