// Temporary load roles (`bomnipotent_load_<16 hex>`, runtime/executor/load-login.ts) left behind by a process killed
// during a restore or rehearsal. At start the server drops each one whose maker is provably gone: its comment names
// this host and pid namespace and a pid that no longer runs. A role of a live process, here or on another replica
// sharing the database, is kept: one from another host (or without our comment) is dropped only once it has expired
// (a role is valid one day) and nobody is logged in as it. Roles named otherwise are never looked at. The executor
// sidecar, which makes such roles in its own host and pid namespace, sweeps its own leftovers at its start the same way.
// A role whose comment names another database (another server sharing the cluster) is left to that server.
import pg from 'pg';
import type { Logger } from '../../handlers/ports/logger';
import { LOAD_LOGIN_PREFIX } from '../executor/load-login';
import { quoteIdentifier } from '../executor/load-role';
import { currentLoadOwner, parseOwnerComment, type LoadOwner } from '../executor/load-owner';
import { alive } from './file-checks';

interface Candidate {
  name: string;
  comment: string | null;
  expired: boolean;
  sessions: number;
  db_owner: string;
  db: string;
}

const CANDIDATES_SQL = `SELECT r.rolname AS name, shobj_description(r.oid, 'pg_authid') AS comment,
    (r.rolvaliduntil IS NOT NULL AND r.rolvaliduntil < now()) AS expired,
    (SELECT count(*)::int FROM pg_stat_activity a WHERE a.usename = r.rolname) AS sessions,
    (SELECT o.rolname FROM pg_database d JOIN pg_roles o ON o.oid = d.datdba WHERE d.datname = current_database()) AS db_owner,
    current_database() AS db
  FROM pg_roles r
  WHERE r.rolname ~ $1 AND (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)`;

/** Why a leftover role may go, or null while its maker may still be loading with it. */
function whyGone(role: Candidate, me: LoadOwner): string | null {
  const maker = parseOwnerComment(role.comment);
  // A load for another server's database (sharing the cluster): that server or its sidecar sweeps it.
  if (maker?.database !== undefined && maker.database !== role.db) return null;
  const here = maker !== null && me.pidns !== '' && maker.host === me.host && maker.pidns === me.pidns;
  if (here) return maker.pid === me.pid || alive(maker.pid) ? null : `its process (pid ${maker.pid}) is gone`;
  if (role.expired && role.sessions === 0)
    return `it expired and nobody is logged in as it${maker ? ` (made on ${maker.host})` : ''}`;
  return null;
}

async function dropRole(pool: pg.Pool, name: string, owner: string): Promise<string | null> {
  const role = quoteIdentifier(name);
  const client = await pool.connect();
  try {
    await client.query(`ALTER ROLE ${role} NOLOGIN`);
    // Its maker is gone: a psql still logged in as it (the orphan of a killed server) has nobody to answer to.
    await client.query(`SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity WHERE usename = $1`, [
      name,
    ]);
    try {
      await client.query(`DROP ROLE ${role}`);
    } catch {
      // Something it came to own here goes to the database's owner, as at the end of a load; its grants go.
      await client.query(`REASSIGN OWNED BY ${role} TO ${quoteIdentifier(owner)}`);
      await client.query(`DROP OWNED BY ${role}`);
      await client.query(`DROP ROLE ${role}`);
    }
    return null;
  } catch (error) {
    return (error as Error).message;
  } finally {
    client.release();
  }
}

/** Drops the leftover load roles whose makers are gone; returns their names. */
export async function sweepLeftoverLoadRoles(pool: pg.Pool, logger: Logger): Promise<string[]> {
  const pattern = `^${LOAD_LOGIN_PREFIX}[0-9a-f]{16}$`;
  let rows: Candidate[];
  try {
    ({ rows } = await pool.query<Candidate>(CANDIDATES_SQL, [pattern]));
  } catch (error) {
    logger.warn(
      `Could not look for temporary load roles left by killed restores: ${(error as Error).message}`,
    );
    return [];
  }
  const me = currentLoadOwner();
  const dropped: string[] = [];
  for (const role of rows) {
    const why = whyGone(role, me);
    if (why === null) continue;
    const problem = await dropRole(pool, role.name, role.db_owner);
    if (problem === null) {
      dropped.push(role.name);
      logger.warn(
        `Dropped ${role.name}, the temporary login of a restore or rehearsal that did not end: ${why}.`,
      );
    } else
      logger.warn(
        `Could not drop ${role.name}, the temporary login of a restore or rehearsal that did not end (${why}): ` +
          `${problem}. It can no longer log in; drop it by hand: DROP ROLE ${quoteIdentifier(role.name)};`,
      );
  }
  return dropped;
}

/** The sweep over a connection of its own to `dbUrl` (the executor sidecar's start: it keeps no pool). */
export async function sweepLoadRolesAt(dbUrl: string, logger: Logger): Promise<string[]> {
  const pool = new pg.Pool({ connectionString: dbUrl, max: 1, connectionTimeoutMillis: 30_000 });
  pool.on('error', () => {}); // an idle connection lost: the sweep's own query reports what matters
  try {
    return await sweepLeftoverLoadRoles(pool, logger);
  } finally {
    await pool.end().catch(() => {});
  }
}
