// Said once at start: a db_url that logs in as a superuser gives every SQL statement the server runs (and every
// trigger they fire in a restored database) the rights to run programs and read files on the database host.
import type pg from 'pg';
import type { Logger } from '../../handlers/ports/logger';

export async function warnAboutSuperuser(pool: pg.Pool, logger: Logger): Promise<void> {
  const { rows } = await pool.query<{ role: string; database: string; owner: string; owner_super: boolean }>(
    `SELECT current_user AS role, current_database() AS database, o.rolname AS owner, o.rolsuper AS owner_super
       FROM pg_roles r, pg_database d JOIN pg_roles o ON o.oid = d.datdba
      WHERE r.rolname = current_user AND r.rolsuper AND d.datname = current_database()`,
  );
  const row = rows[0];
  if (!row) return;
  const restores = row.owner_super
    ? `(restores load as a temporary role, not a superuser, then give the copy to the database's owner '${row.owner}', a superuser too)`
    : `(restores load as the database's owner '${row.owner}', not a superuser)`;
  logger.warn(
    `db_url logs in as the superuser '${row.role}' ${restores}: give the server a non-superuser role that owns its ` +
      `database: CREATE ROLE bomnipotent LOGIN CREATEDB PASSWORD '...'; ALTER DATABASE "${row.database}" OWNER TO ` +
      'bomnipotent; then use that role in db_url (docs/security.md).',
  );
}
