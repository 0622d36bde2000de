// What continuous protection needs from the PostgreSQL server, checked at start so that the log says exactly what is
// missing (wal_level, the REPLICATION attribute, the segment size) instead of a replication error later.
import pg from 'pg';
import { AppError } from '../../handlers/errors';

export interface ServerFacts {
  systemIdentifier: string;
  major: number;
  database: string;
  role: string;
}

const problem = (message: string, suggestion: string) =>
  new AppError('PITR.SERVER_NOT_READY', 'misconfigured', message, { suggestion });

export async function checkServer(dbUrl: string): Promise<ServerFacts> {
  const client = new pg.Client({ connectionString: dbUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{
      wal_level: string;
      segment: string;
      major: string;
      system_identifier: string;
      role: string;
      database: string;
      replication: boolean;
    }>(
      `SELECT current_setting('wal_level') AS wal_level, current_setting('wal_segment_size') AS segment,
              current_setting('server_version_num')::int / 10000 AS major,
              (SELECT system_identifier::text FROM pg_control_system()) AS system_identifier,
              current_user AS role, current_database() AS database,
              (SELECT rolreplication OR rolsuper FROM pg_roles WHERE rolname = current_user) AS replication`,
    );
    const facts = rows[0]!;
    if (facts.wal_level === 'minimal')
      throw problem(
        'Continuous protection needs wal_level = replica on the PostgreSQL server; it is minimal.',
        'Set wal_level = replica and max_wal_senders = 2 (at least) in postgresql.conf and restart PostgreSQL (docs/pitr.md).',
      );
    if (!facts.replication)
      throw problem(
        `Continuous protection needs the REPLICATION attribute for the role ${facts.role}; it lacks it.`,
        `Run ALTER ROLE "${facts.role}" REPLICATION; as a superuser, and add a pg_hba.conf line for the replication pseudo-database (docs/pitr.md).`,
      );
    if (facts.segment !== '16MB')
      throw problem(
        `Continuous protection handles 16 MB WAL segments only; this server uses ${facts.segment}.`,
        'Turn continuous off for this server.',
      );
    return {
      systemIdentifier: facts.system_identifier,
      major: Number(facts.major),
      database: facts.database,
      role: facts.role,
    };
  } finally {
    await client.end().catch(() => {});
  }
}

/**
 * Closes the current WAL segment (pg_switch_wal) and returns the name of the segment that holds everything written
 * before the call. Needs superuser or GRANT EXECUTE ON FUNCTION pg_switch_wal() to the role.
 */
export async function switchWal(dbUrl: string): Promise<string> {
  const client = new pg.Client({ connectionString: dbUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ file: string }>('SELECT pg_walfile_name(pg_switch_wal()) AS file');
    return rows[0]!.file;
  } finally {
    await client.end().catch(() => {});
  }
}
