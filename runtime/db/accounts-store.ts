// The AccountStore port on PostgreSQL, always through the DbHandle (a restore swaps the pool underneath).
import type { PoolClient } from 'pg';
import type { AccountStore } from '../../handlers/ports/account-store';
import type {
  GuardedChange,
  StoredKey,
  StoredUser,
  UserKind,
  UserStatus,
} from '../../handlers/accounts/model';
import type { DbHandle } from './handle';

interface UserRow {
  name: string;
  status: UserStatus;
  kind: UserKind;
  created_at: Date;
  updated_at: Date;
}

const toUser = (r: UserRow): StoredUser => ({
  name: r.name,
  status: r.status,
  kind: r.kind,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

// Approved users holding the admin role with at least one valid key: the ones who can still administer the server.
const USABLE_ADMINS = `
  SELECT count(*)::int AS n FROM users u JOIN user_roles r ON r.user_name = u.name AND r.role = 'admin'
  WHERE u.status = 'APPROVED' AND EXISTS (
    SELECT 1 FROM user_keys k WHERE k.user_name = u.name AND k.revoked_at IS NULL AND k.expires_at > now())`;

/**
 * Runs change in a transaction serialized with every other admin-affecting change, and rolls it back when it took
 * the last usable admin away (there was one before, none after): an owner can never lock themselves out.
 */
async function guarded(
  db: DbHandle,
  change: (client: PoolClient) => Promise<number>,
): Promise<GuardedChange> {
  const outcome = await db
    .transaction(async (client) => {
      await client.query(`SELECT pg_advisory_xact_lock(hashtext('bomnipotent.admins'))`);
      const before = (await client.query<{ n: number }>(USABLE_ADMINS)).rows[0]?.n ?? 0;
      const changed = await change(client);
      const after = (await client.query<{ n: number }>(USABLE_ADMINS)).rows[0]?.n ?? 0;
      if (before > 0 && after === 0) throw new LastAdminRollback();
      return changed > 0 ? 'changed' : 'unchanged';
    })
    .catch((error: unknown) => {
      if (error instanceof LastAdminRollback) return 'last_admin' as const;
      throw error;
    });
  return outcome;
}
/** Thrown inside the transaction only to roll it back. */
class LastAdminRollback extends Error {}

const toKey = (r: KeyRow): StoredKey => ({
  id: Number(r.id),
  publicKeyPem: r.public_key,
  createdAt: new Date(r.created_at),
  expiresAt: new Date(r.expires_at),
  revokedAt: r.revoked_at === null ? null : new Date(r.revoked_at),
});

interface KeyRow {
  id: string;
  public_key: string;
  created_at: Date | string;
  expires_at: Date | string;
  revoked_at: Date | string | null;
}

export function createAccountStore(db: DbHandle): AccountStore {
  return { ...userMethods(db), ...roleMethods(db), ...signatureMethods(db) };
}

type UserMethods = Pick<
  AccountStore,
  'findUser' | 'keysOf' | 'createUser' | 'setStatus' | 'revokeKeys' | 'hasUsableAdmin' | 'listUsers'
>;

/** Users and their keys. */
function userMethods(db: DbHandle): UserMethods {
  return {
    async findUser(name) {
      const { rows } = await db.query<UserRow>(
        'SELECT name, status, kind, created_at, updated_at FROM users WHERE name = $1',
        [name],
      );
      return rows[0] ? toUser(rows[0]) : null;
    },
    async keysOf(name) {
      const { rows } = await db.query<KeyRow>(
        'SELECT id, public_key, created_at, expires_at, revoked_at FROM user_keys WHERE user_name = $1 ORDER BY id',
        [name],
      );
      return rows.map(toKey);
    },
    async createUser({ name, kind, publicKeyPem, now, expiresAt }) {
      return db.transaction(async (client) => {
        const inserted = await client.query(
          `INSERT INTO users (name, status, kind, created_at, updated_at) VALUES ($1, 'REQUESTED', $2, $3, $3)
           ON CONFLICT (name) DO NOTHING`,
          [name, kind, now],
        );
        if (inserted.rowCount === 0) return 'exists';
        await client.query(
          'INSERT INTO user_keys (user_name, public_key, created_at, expires_at) VALUES ($1, $2, $3, $4)',
          [name, publicKeyPem, now, expiresAt],
        );
        return 'created';
      });
    },
    async setStatus(name, status, now) {
      return guarded(db, async (client) => {
        const { rowCount } = await client.query(
          'UPDATE users SET status = $2, updated_at = $3 WHERE name = $1 AND status <> $2',
          [name, status, now],
        );
        return rowCount ?? 0;
      });
    },
    async revokeKeys(name, keyIds, now) {
      return guarded(db, async (client) => {
        const { rowCount } = await client.query(
          'UPDATE user_keys SET revoked_at = $3 WHERE user_name = $1 AND id = ANY($2::bigint[]) AND revoked_at IS NULL',
          [name, keyIds, now],
        );
        return rowCount ?? 0;
      });
    },
    async hasUsableAdmin() {
      const { rows } = await db.query<{ n: number }>(USABLE_ADMINS);
      return (rows[0]?.n ?? 0) > 0;
    },
    async listUsers() {
      const { rows } = await db.query<
        UserRow & { roles: string[]; key_expires_at: Date | null; keys: KeyRow[] }
      >(
        `SELECT u.name, u.status, u.kind, u.created_at, u.updated_at,
                COALESCE((SELECT array_agg(r.role ORDER BY r.role) FROM user_roles r WHERE r.user_name = u.name), '{}') AS roles,
                (SELECT max(k.expires_at) FROM user_keys k WHERE k.user_name = u.name AND k.revoked_at IS NULL) AS key_expires_at,
                COALESCE((SELECT json_agg(json_build_object('id', k.id, 'public_key', k.public_key,
                            'created_at', k.created_at, 'expires_at', k.expires_at, 'revoked_at', k.revoked_at) ORDER BY k.id)
                          FROM user_keys k WHERE k.user_name = u.name), '[]') AS keys
         FROM users u ORDER BY u.name`,
      );
      return rows.map((r) => ({
        ...toUser(r),
        roles: r.roles,
        keyExpiresAt: r.key_expires_at,
        keys: r.keys.map(toKey),
      }));
    },
  };
}

type RoleMethods = Pick<AccountStore, 'rolesOf' | 'permissionsOf' | 'roleExists' | 'addRole' | 'removeRole'>;

/** Roles and what they permit. */
function roleMethods(db: DbHandle): RoleMethods {
  return {
    async rolesOf(name) {
      const { rows } = await db.query<{ role: string }>(
        'SELECT role FROM user_roles WHERE user_name = $1 ORDER BY role',
        [name],
      );
      return rows.map((r) => r.role);
    },
    async permissionsOf(roles) {
      if (roles.length === 0) return [];
      const { rows } = await db.query<{ permission: string }>(
        'SELECT DISTINCT permission FROM role_permissions WHERE role = ANY($1::text[]) ORDER BY permission',
        [roles],
      );
      return rows.map((r) => r.permission);
    },
    async roleExists(role) {
      const { rowCount } = await db.query('SELECT 1 FROM roles WHERE name = $1', [role]);
      return (rowCount ?? 0) > 0;
    },
    async addRole(name, role) {
      const { rowCount } = await db.query(
        'INSERT INTO user_roles (user_name, role) VALUES ($1, $2) ON CONFLICT DO NOTHING',
        [name, role],
      );
      return (rowCount ?? 0) > 0;
    },
    async removeRole(name, role) {
      return guarded(db, async (client) => {
        const { rowCount } = await client.query('DELETE FROM user_roles WHERE user_name = $1 AND role = $2', [
          name,
          role,
        ]);
        return rowCount ?? 0;
      });
    },
  };
}

/** The replay guard: signatures seen within their window. */
function signatureMethods(db: DbHandle): Pick<AccountStore, 'rememberSignature' | 'forgetSignaturesBefore'> {
  return {
    async rememberSignature(digest, expiresAt) {
      // Also while a restore holds the database read-only, or no signed request (reads included) would pass: the
      // restore carries the seen signatures over into the restored database, so none of these is lost.
      const { rowCount } = await db.writeThroughReadOnly((client) =>
        client.query(
          'INSERT INTO seen_signatures (digest, expires_at) VALUES ($1, $2) ON CONFLICT (digest) DO NOTHING',
          [digest, expiresAt],
        ),
      );
      return (rowCount ?? 0) > 0;
    },
    async forgetSignaturesBefore(now) {
      await db.query('DELETE FROM seen_signatures WHERE expires_at < $1', [now]);
    },
  };
}
