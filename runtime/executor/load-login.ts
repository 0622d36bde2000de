// The session a restore's psql loads the dump in. With a superuser db_url, psql does not log in as that superuser:
// the server makes a temporary role for this one load (LOGIN, no superuser, no CREATEDB/CREATEROLE/REPLICATION/
// BYPASSRLS, NOINHERIT, one connection, valid one day). With a non-superuser database owner it is a member of that
// owner only, and psql logs in as it and runs `SET ROLE <owner>`. With a superuser owner it is a member of nothing:
// it owns the new copy while it loads, and after the load (before any swap) everything it owns goes to the owner.
// `RESET ROLE` (from the dump, a function it defines, a trigger) then returns to that temporary role, never to a
// superuser: COPY ... TO PROGRAM, server files and C functions stay out of reach. Its password is random, stored as
// a SCRAM verifier computed here (no plain password in PostgreSQL's statement log), and reaches psql through a 0600
// PGPASSFILE, never argv. The role is dropped when the load ends.
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import type { ExecutorContext } from './executor-context';
import { EXECUTOR_ERRORS, toolFailed } from './errors';
import type { LoadRole } from './load-role';
import type { LaterOwner } from './role-statements';
import { quoteIdentifier } from './load-role';
import { currentLoadOwner, ownerComment, sqlLiteral } from './load-owner';
import { registerSecret } from '../observability/mask';
import { prepareToolEnvironment } from './pg-env';
import { classifyRun, runTool, usefulStderrLine } from './process';

export const LOAD_LOGIN_PREFIX = 'bomnipotent_load_';

export interface LoadLogin {
  /** The role psql logs in as for the load (the server's own role when no temporary one was needed). */
  user: string;
  /** psql's environment for the load: PGUSER and PGPASSFILE of that role. */
  env: Record<string, string>;
  /**
   * Ends the temporary role (NOLOGIN, then dropped); what it came to own in the target goes to the owner first. After
   * a load that succeeded as the temporary owner, a failure to hand the copy over rejects (the copy must not be used).
   */
  end(loaded: boolean): Promise<void>;
}

/** A SCRAM-SHA-256 verifier as PostgreSQL stores it (RFC 5802/7677; 4096 iterations like libpq's). */
export function scramVerifier(password: string, salt: Buffer = randomBytes(16)): string {
  const salted = pbkdf2Sync(password, salt, 4096, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', salted).update('Server Key').digest();
  return `SCRAM-SHA-256$4096:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}

/** Runs SQL as the server's role in `database` (stdin, so nothing of it is in argv); the failing line or null. */
async function runAsServer(
  context: ExecutorContext,
  psql: string,
  env: Record<string, string>,
  database: string,
  sql: string,
): Promise<string | null> {
  const run = await runTool({
    path: psql,
    args: ['-X', '-q', '--no-password', '-v', 'ON_ERROR_STOP=1', '-f', '-'],
    env: { ...env, PGDATABASE: database },
    logger: context.logger,
    timeoutMs: 60_000,
    feedStdin: async (stdin) => {
      await new Promise<void>((resolve, reject) =>
        stdin.end(sql, (e?: Error | null) => (e ? reject(e) : resolve())),
      );
    },
  });
  return classifyRun(run) === 'ok' ? null : (usefulStderrLine(run.stderr) ?? classifyRun(run));
}

/**
 * The login for a load as `role` into `target` (the new database, already created): a temporary role when psql
 * would otherwise log in as a superuser (to switch to the owner, role.setRole, or to load a superuser's database,
 * role.handOverTo), else the server's own session. The role is made and dropped through `target`: the server's
 * database is read-only while a restore runs.
 */
export async function loginForLoad(
  context: ExecutorContext,
  psql: string,
  serverEnv: Record<string, string>,
  role: LoadRole,
  target: string,
  ownersLater: readonly LaterOwner[] = [],
): Promise<LoadLogin> {
  const owner = role.setRole ?? role.handOverTo;
  if (owner === null) return { user: role.sessionRole, env: serverEnv, end: async () => {} };
  const handOver = role.handOverTo !== null;
  const user = `${LOAD_LOGIN_PREFIX}${randomBytes(8).toString('hex')}`;
  const me = quoteIdentifier(user);
  // Never a member of a superuser: for a superuser owner the role owns the new copy instead, for the load's length.
  const access = handOver
    ? `ALTER DATABASE ${quoteIdentifier(target)} OWNER TO ${me};\n`
    : `GRANT ${quoteIdentifier(owner)} TO ${me};\n`;
  const password = randomBytes(32).toString('base64url');
  registerSecret(password);
  const until = new Date(Date.now() + 24 * 3600_000).toISOString();
  const failed = await runAsServer(
    context,
    psql,
    serverEnv,
    target,
    `BEGIN;\nCREATE ROLE ${me} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS ` +
      // INHERIT only for the copy's owner: then its sole membership is pg_database_owner (CREATE in public).
      `${handOver ? 'INHERIT' : 'NOINHERIT'} CONNECTION LIMIT 1 VALID UNTIL '${until}' PASSWORD '${scramVerifier(password)}';\n` +
      access +
      // Who made it: a start-up sweep drops it only when that process is gone (load-owner.ts).
      `COMMENT ON ROLE ${me} IS ${sqlLiteral(ownerComment({ ...currentLoadOwner(), database: context.connection.database }))};\nCOMMIT;\n`,
  );
  if (failed !== null) {
    await runAsServer(context, psql, serverEnv, target, dropSql(user));
    throw toolFailed(
      EXECUTOR_ERRORS.RESTORE_FAILED,
      `could not create the temporary role the dump loads as (instead of the superuser '${role.sessionRole}')`,
      failed,
      'The role in db_url needs to create roles; or give the server a non-superuser role that owns its database (docs/security.md).',
    );
  }
  const toolEnv = await prepareToolEnvironment(
    { ...context.connection, user, password },
    context.sourceEnv,
    null,
  );
  // What it owns in the target (all of it for a superuser owner; else only what a dump that left the owner's role
  // made) goes to the owner, its grants go.
  const moved = `REASSIGN OWNED BY ${me} TO ${quoteIdentifier(owner)};\nDROP OWNED BY ${me};\n`;
  const end = async (loaded: boolean): Promise<void> => {
    await toolEnv.dispose();
    // A superuser owner's copy: the owners the dump names, the rest to the owner, in one transaction (handOverSql).
    const notGiven =
      handOver && loaded
        ? await runAsServer(context, psql, serverEnv, target, handOverSql(target, me, owner, ownersLater))
        : null;
    let problem = await runAsServer(
      context,
      psql,
      serverEnv,
      target,
      handOver && (!loaded || notGiven !== null)
        ? `ALTER ROLE ${me} NOLOGIN;\n${moved}DROP ROLE ${me};\n`
        : dropSql(user),
    );
    if (problem !== null && !handOver)
      problem =
        (await runAsServer(context, psql, serverEnv, target, moved)) ??
        (await runAsServer(context, psql, serverEnv, target, dropSql(user)));
    if (notGiven !== null)
      throw toolFailed(
        EXECUTOR_ERRORS.RESTORE_FAILED,
        `could not give the loaded copy to its owners (the dump's, else the database's owner '${owner}')`,
        notGiven,
      );
    if (problem !== null)
      context.logger.warn(
        `Could not drop the temporary load role ${user} (it can no longer log in): ${problem}. Drop it by hand: DROP OWNED BY ${me}; DROP ROLE ${me};`,
      );
  };
  return { user, env: toolEnv.env, end };
}

/** What a sealed copy's check accepts as the hand-over (runtime/db/admin/sealed-copy.ts): its comment names its xid. */
export const HAND_OVER_COMMENT = 'bomnipotent hand-over ';

/**
 * The hand-over of a copy a temporary role loaded, as the server (a superuser), in one transaction after the dump's
 * session ended: each `ALTER <object> <name> OWNER TO <role>;` the dump named (role-statements.ts checked its whole
 * text: nothing but an owner change), then everything else the role owns, the database included, to the owner. The
 * database's comment names the transaction, so that a rehearsal's check tells it from a foreign write.
 */
function handOverSql(target: string, me: string, owner: string, ownersLater: readonly LaterOwner[]): string {
  // The filter reads bytes as latin1; the dump's text is UTF-8 (pg_dump's default).
  const statements = ownersLater.map((o) => `${Buffer.from(o.text, 'latin1').toString('utf8')}\n`).join('');
  const comment = `'${HAND_OVER_COMMENT}' || (pg_current_xact_id()::xid)::text`;
  return (
    `BEGIN;\n${statements}REASSIGN OWNED BY ${me} TO ${quoteIdentifier(owner)};\nDROP OWNED BY ${me};\n` +
    `DO $hand$BEGIN EXECUTE format('COMMENT ON DATABASE %I IS %L', ${sqlLiteral(target)}, ${comment}); END$hand$;\n` +
    'COMMIT;\n'
  );
}

function dropSql(user: string): string {
  return `ALTER ROLE ${quoteIdentifier(user)} NOLOGIN;\nDROP ROLE ${quoteIdentifier(user)};\n`;
}
