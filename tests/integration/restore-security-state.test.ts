// Security state through a restore, on real PostgreSQL with real backups: a role taken after the backup stays taken
// (a demoted admin does not come back as admin), and a restore that would leave no approved admin with a valid key
// is refused unless forced.
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { tearDown } from '../support/teardown';
import { restoreBackup } from '../../handlers/backup/restore-backup';
import { createTestDatabase, type TestDatabase } from '../support/pg';
import {
  createRealContext,
  makeBackup,
  migrateToLatest,
  type RealRestoreWorld,
} from '../support/restore-real';
import { snapshotDatabase } from '../support/restore-snapshot';
import { newKeyPair } from '../support/accounts-harness';
import { failureOf } from '../support/rejection';

let database: TestDatabase;
let directory: string;
let world: RealRestoreWorld;
const [ALICE, BOB, CAROL] = ['alice@example.com', 'bob@example.com', 'carol@example.com'];

beforeAll(async () => {
  database = await createTestDatabase('brss');
  directory = await mkdtemp(join(tmpdir(), 'bomnipotent-security-state-'));
});
afterAll(() => tearDown({ db: database, dirs: [directory] }));

/** An approved user with one valid key, with `roles`. */
async function addUser(name: string, roles: string[]): Promise<void> {
  await world.db.query(
    `INSERT INTO users (name, status, kind, created_at, updated_at) VALUES ($1, 'APPROVED', 'human', now(), now())`,
    [name],
  );
  await world.db.query(
    `INSERT INTO user_keys (user_name, public_key, created_at, expires_at) VALUES ($1, $2, now(), now() + interval '1 year')`,
    [name, newKeyPair().publicKeyPem],
  );
  for (const role of roles)
    await world.db.query(`INSERT INTO user_roles (user_name, role) VALUES ($1, $2)`, [name, role]);
}

async function rolesOf(name: string): Promise<string[]> {
  const { rows } = await world.db.query<{ role: string }>(
    'SELECT role FROM user_roles WHERE user_name = $1 ORDER BY role',
    [name],
  );
  return rows.map((r) => r.role);
}

beforeEach(async () => {
  world = createRealContext({ url: database.url, directory });
  await migrateToLatest(world);
  for (const table of ['user_roles', 'user_keys', 'users']) await world.db.query(`DELETE FROM ${table}`);
  await addUser(ALICE, ['admin']);
  await addUser(BOB, ['admin', 'bom_manager']);
  await makeBackup(world, new Date('2026-01-01T00:00:00Z'));
});
afterEach(async () => {
  await world.close();
  for (const entry of await readdir(directory))
    await rm(join(directory, entry), { recursive: true, force: true });
});

describe('security state through a restore', () => {
  it('a role taken after the backup stays taken: the demoted admin does not come back as admin', async () => {
    await world.db.query(`DELETE FROM user_roles WHERE user_name = $1 AND role = 'admin'`, [BOB]);
    await restoreBackup({ user: ALICE }, world.ctx);
    expect(await rolesOf(BOB)).toEqual(['bom_manager']);
    expect(await rolesOf(ALICE)).toEqual(['admin']);
    expect(world.logs.join('\n')).toContain('1 role removal(s) made after the backup was taken');
  });

  it('a restore that would leave no approved admin with a valid key is refused, and forced on purpose', async () => {
    // Since the backup: Alice's key revoked, Bob demoted, Carol (not in the backup) made the admin.
    await world.db.query(`UPDATE user_keys SET revoked_at = now() WHERE user_name = $1`, [ALICE]);
    await world.db.query(`DELETE FROM user_roles WHERE user_name = $1 AND role = 'admin'`, [BOB]);
    await addUser(CAROL, ['admin']);
    const before = await snapshotDatabase(database.url, database.name);
    const refused = await failureOf(restoreBackup({ user: CAROL }, world.ctx));
    expect(refused.code).toBe('BACKUP.NO_ADMIN_LEFT');
    expect(refused.message).toContain(`would leave no approved admin with a valid key (now: ${CAROL})`);
    expect(await snapshotDatabase(database.url, database.name)).toEqual(before);
    const { rows } = await world.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_database WHERE datname LIKE $1`,
      [`${database.name}\\_%`],
    );
    expect(rows[0]?.n).toBe(0);

    await restoreBackup({ user: CAROL, allowNoAdmin: true }, world.ctx);
    expect(await rolesOf(CAROL)).toEqual([]); // not in the backup
    expect(await rolesOf(BOB)).toEqual(['bom_manager']);
    expect(world.logs.join('\n')).toContain('on purpose with --allow-no-admin');
  });
});
