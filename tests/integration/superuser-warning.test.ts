// One [WARN] line at start when db_url logs in as a superuser, saying what to do; none for a role of its own.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { warnAboutSuperuser } from '../../runtime/startup/superuser-warning';
import { adminQuery, adminUrl, createTestDatabase, type TestDatabase } from '../support/pg';
import { recordingLogger } from '../support/recording-logger';

let database: TestDatabase;
const role = `bsw_${process.pid}_${Date.now().toString(36)}`;

beforeAll(async () => {
  database = await createTestDatabase('bsw');
  await adminQuery(`CREATE ROLE "${role}" LOGIN CREATEDB`);
  await adminQuery(`ALTER DATABASE "${database.name}" OWNER TO "${role}"`);
});
afterAll(async () => {
  await database?.drop();
  await adminQuery(`DROP ROLE IF EXISTS "${role}"`);
});

async function linesFor(user: string): Promise<string[]> {
  const url = new URL(database.url);
  url.username = user;
  const pool = new pg.Pool({ connectionString: url.toString(), max: 1 });
  const logger = recordingLogger();
  try {
    await warnAboutSuperuser(pool, logger);
  } finally {
    await pool.end();
  }
  return logger.lines;
}

describe('the superuser warning at start', () => {
  it('a superuser db_url: one [WARN] line naming the role and the non-superuser owner role to use', async () => {
    const superuser = new URL(adminUrl()).username;
    const lines = await linesFor(superuser);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^\\[WARN\\] db_url logs in as the superuser '${superuser}' `));
    expect(lines[0]).toContain(`restores load as the database's owner '${role}', not a superuser`);
    expect(lines[0]).toContain(`ALTER DATABASE "${database.name}" OWNER TO bomnipotent`);
  });

  it('the database owner, not a superuser: no line', async () => {
    expect(await linesFor(role)).toEqual([]);
  });
});
