// Who a restore loads the dump as; never a superuser. The server's role when it is not a superuser; when it is, the
// owner of the server's database (db_url's database) if that owner is not a superuser: the new copy is created owned
// by it and psql runs `SET ROLE` to it first. When the owner is a superuser too, a temporary non-superuser role owns
// the new copy while the dump loads and everything goes to the owner after the load, before the swap (load-login.ts).
// So the dump's SQL has no superuser rights (no COPY ... TO PROGRAM, no server files). Also the roles this server
// has, for the grants the role filter keeps.
import type { ExecutorContext } from './executor-context';
import { cancelled, databaseUnreachable, EXECUTOR_ERRORS, toolFailed } from './errors';
import { RoleFilter } from './role-filter';
import { classifyRun, looksUnreachable, runTool, usefulStderrLine } from './process';

export interface LoadRole {
  /** The role psql switches to (SET ROLE) and the new database's owner; null: the server's role loads as itself. */
  setRole: string | null;
  /** The server's role (db_url's user). */
  sessionRole: string;
  /**
   * A superuser db_url and a superuser-owned database: the superuser owner, who gets the new copy and all in it once
   * a temporary non-superuser role (its owner meanwhile) has loaded the dump; null otherwise.
   */
  handOverTo: string | null;
  roles: ReadonlySet<string>;
  /** The roles the loading role may give objects to (itself, the roles it is a member of; none for a temporary owner). */
  mayOwn: ReadonlySet<string>;
  /** The roles a temporary owner's objects are given to after the load, as the dump says (not the pg_ ones). */
  later: ReadonlySet<string>;
}

const FACTS_SQL = `SELECT json_build_object(
  'me', current_user,
  'meSuper', (SELECT rolsuper FROM pg_roles WHERE rolname = current_user),
  'owner', (SELECT r.rolname FROM pg_database d JOIN pg_roles r ON r.oid = d.datdba WHERE d.datname = current_database()),
  'ownerSuper', (SELECT r.rolsuper FROM pg_database d JOIN pg_roles r ON r.oid = d.datdba WHERE d.datname = current_database()),
  'roles', (SELECT json_agg(rolname) FROM pg_roles),
  'plain', (SELECT json_agg(rolname) FROM pg_roles WHERE rolname !~ '^pg_'),
  'meMayOwn', (SELECT json_agg(rolname) FROM pg_roles WHERE pg_has_role(current_user, oid, 'MEMBER')),
  'ownerMayOwn', (SELECT json_agg(r.rolname) FROM pg_roles r, pg_database d
    WHERE d.datname = current_database() AND pg_has_role(d.datdba, r.oid, 'MEMBER')))`;

interface Facts {
  me: string;
  meSuper: boolean;
  owner: string | null;
  ownerSuper: boolean | null;
  roles: string[];
  plain: string[] | null;
  meMayOwn: string[] | null;
  ownerMayOwn: string[] | null;
}

/** The stage in front of psql for a load as `role`. */
export function roleFilterFor(role: LoadRole): RoleFilter {
  return new RoleFilter({
    exists: (name) => role.roles.has(name),
    mayOwn: (name) => role.mayOwn.has(name),
    later: (name) => role.later.has(name),
  });
}

/** A role name as an SQL identifier. */
export function quoteIdentifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

export async function findLoadRole(
  context: ExecutorContext,
  psql: string,
  env: Record<string, string>,
  signal?: AbortSignal,
): Promise<LoadRole> {
  let output = '';
  const run = await runTool({
    path: psql,
    args: ['-X', '-q', '-A', '-t', '--no-password', '-c', FACTS_SQL],
    // PGDATABASE, not -d: a name with `=` in it would be read as a connection string there.
    env: { ...env, PGDATABASE: context.connection.database },
    logger: context.logger,
    signal,
    timeoutMs: 60_000,
    consumeStdout: async (stdout) => {
      stdout.setEncoding('utf8');
      for await (const chunk of stdout) output += String(chunk);
    },
  });
  const outcome = classifyRun(run);
  if (outcome === 'aborted' || outcome === 'timed-out') throw cancelled('restore');
  const facts = outcome === 'ok' ? parseFacts(output) : null;
  if (!facts) {
    if (looksUnreachable(run.stderr)) throw databaseUnreachable('psql', usefulStderrLine(run.stderr));
    throw toolFailed(
      EXECUTOR_ERRORS.RESTORE_FAILED,
      'psql could not read the roles of the server',
      usefulStderrLine(run.stderr),
    );
  }
  const roles = new Set(facts.roles);
  const base = { sessionRole: facts.me, roles, later: new Set<string>() };
  if (!facts.meSuper)
    return { ...base, setRole: null, handOverTo: null, mayOwn: new Set(facts.meMayOwn ?? [facts.me]) };
  if (facts.owner !== null && facts.ownerSuper === false)
    return {
      ...base,
      setRole: facts.owner,
      handOverTo: null,
      mayOwn: new Set(facts.ownerMayOwn ?? [facts.owner]),
    };
  // The temporary role may give objects to nobody: `OWNER TO` lines are dropped, all goes to the owner afterwards.
  return {
    ...base,
    setRole: null,
    handOverTo: facts.owner ?? facts.me,
    mayOwn: new Set(),
    later: new Set(facts.plain ?? []),
  };
}

function parseFacts(output: string): Facts | null {
  try {
    const facts = JSON.parse(output.trim()) as Facts | null;
    return facts && typeof facts.me === 'string' && Array.isArray(facts.roles) ? facts : null;
  } catch {
    return null;
  }
}
