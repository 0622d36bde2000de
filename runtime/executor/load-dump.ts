// Loads a plain dump into a new database, the one way every restore does it: createdb owned by the role the dump loads
// as (load-role.ts), psql in one transaction that stops at the first error, `SET ROLE` to that role first, and the dump
// fed through the role filter (and the header filter for an older server, the row counter); the new database is
// dropped on failure. Where the dump comes from is the caller's: a verified backup file (restore.ts) or pg_dump of
// point-in-time recovery's temporary instance (runtime/pitr/copy-out.ts).
import { Writable, type Transform } from 'node:stream';
import { isAppError, type AppError } from '../../handlers/errors';
import type { DatabaseLocale, RestoreReport } from '../../handlers/backup/model';
import { requireTool, type ExecutorContext } from './executor-context';
import {
  EXECUTOR_ERRORS,
  cancelled,
  databaseUnreachable,
  targetExists,
  toolFailed,
  toolKilled,
  toolNotFound,
} from './errors';
import { writeToChild } from './child-input';
import { CopyRowCounter } from './copy-count';
import { prepareToolEnvironment } from './pg-env';
import { classifyRun, looksUnreachable, runTool, usefulStderrLine, type ToolRun } from './process';
import { needsOlderServerFilter, OlderServerFilter } from './older-server-filter';
import { findLoadRole, quoteIdentifier, roleFilterFor, type LoadRole } from './load-role';
import { loginForLoad } from './load-login';
import type { LaterOwner } from './role-statements';
import { localeArguments } from './locale';

export interface LoadRequest {
  targetDatabase: string;
  serverMajor?: number | undefined;
  locale?: DatabaseLocale | undefined;
  signal?: AbortSignal | undefined;
  countRows?: boolean | undefined;
  /**
   * What must have settled before psql starts (the restore's spool being copied and proven meanwhile): a rejection
   * drops the new database and fails the load with its reason; nothing is fed before.
   */
  inputReady?: Promise<unknown> | undefined;
}

/**
 * Writes the dump into `sink` through the `through` stages (they go right in front of psql, after the source's own
 * checks) and resolves when all of it is in; rejects, preferably with an AppError, when the dump failed.
 */
export type DumpFeed = (sink: Writable, through: Transform[]) => Promise<unknown>;

/** psql:/path/x.dump:1234: ERROR:  ... -> line 1234: ERROR:  ... */
function psqlErrorLine(stderr: string): string | null {
  return usefulStderrLine(stderr)?.replace(/^psql:.*?:(\d+): /, 'line $1: ') ?? null;
}

function runError(
  tool: string,
  path: string,
  run: ToolRun,
  detail: string | null,
  suggestion?: string,
): AppError {
  switch (classifyRun(run)) {
    case 'not-found':
      return toolNotFound(tool, `at ${path}`, null);
    case 'aborted':
    case 'timed-out':
      return cancelled('restore');
    case 'signal':
      return toolKilled(EXECUTOR_ERRORS.RESTORE_KILLED, tool, run.signal ?? 'unknown');
    default:
      if (looksUnreachable(run.stderr)) return databaseUnreachable(tool, usefulStderrLine(run.stderr));
      return toolFailed(
        EXECUTOR_ERRORS.RESTORE_FAILED,
        `${tool} failed${run.exitCode === null ? '' : ` with exit code ${run.exitCode}`}`,
        detail,
        suggestion,
      );
  }
}

/** psql's stdin as the end of the read pipeline: a failed pipeline kills psql before its input could end. */
function psqlInput(stdin: Writable, kill: () => void): Writable {
  return new Writable({
    highWaterMark: 64 * 1024, // small, as the role filter's (role-filter.ts)
    write(chunk: Buffer, _encoding, callback) {
      // psql gone (killed, crashed): its stdin never drains again, so the feed must fail here, not wait forever.
      writeToChild(stdin, 'psql', chunk, callback);
    },
    final(callback) {
      stdin.end(callback);
    },
    destroy(error, callback) {
      if (error) kill();
      callback(error);
    },
  });
}

export async function loadDump(
  context: ExecutorContext,
  request: LoadRequest,
  feed: DumpFeed,
): Promise<RestoreReport> {
  const target = request.targetDatabase;
  const counter = request.countRows ? new CopyRowCounter() : undefined;
  const major = request.serverMajor ?? context.serverMajor;
  const localeArgs = localeArguments(request.locale);
  const createdb = await requireTool(context, 'createdb', major);
  const psql = await requireTool(context, 'psql', major);
  const dropdb = await requireTool(context, 'dropdb', major);
  // PGDATABASE stays unset: createdb and dropdb connect to the maintenance database, psql gets -d.
  const toolEnv = await prepareToolEnvironment(context.connection, context.sourceEnv, null);
  const { logger } = context;
  try {
    const role = await findLoadRole(context, psql, toolEnv.env, request.signal);
    const roleFilter = roleFilterFor(role);
    const filters = [
      // pg_dump 17's `SET transaction_timeout` stops psql on 15 and 16: that one header line is dropped.
      ...(needsOlderServerFilter(major) ? [new OlderServerFilter()] : []),
      // OWNER TO dropped, grants to missing roles dropped and named, role changes refused.
      roleFilter,
      ...(counter ? [counter] : []),
    ];
    const owner = role.setRole === null ? [] : [`--owner=${role.setRole}`];
    const created = await runTool({
      path: createdb,
      // template0: a plain dump recreates everything itself, and objects someone added to template1 would clash.
      args: ['--no-password', '--template=template0', ...owner, ...localeArgs, target],
      env: toolEnv.env,
      logger,
      signal: request.signal,
      timeoutMs: 300_000,
    });
    if (classifyRun(created) !== 'ok') {
      // Never drop what we did not create: an existing target may be someone's data.
      if (classifyRun(created) === 'exit' && /already exists/i.test(created.stderr))
        throw targetExists(target);
      throw runError(
        'createdb',
        createdb,
        created,
        usefulStderrLine(created.stderr),
        privilegeHint(created.stderr),
      );
    }

    let applied: ToolRun;
    try {
      applied = await runPsql(context, request, feed, {
        psql,
        serverEnv: toolEnv.env,
        role,
        filters,
        ownersLater: roleFilter.ownersLater,
      });
    } catch (error) {
      await dropTarget(context, dropdb, target, toolEnv.env);
      throw error;
    }
    if (classifyRun(applied) === 'ok')
      return { copyRows: counter?.rows ?? {}, missingRoles: [...roleFilter.missingRoles].sort() };

    const dropped = await dropTarget(context, dropdb, target, toolEnv.env);
    const cleanup = dropped
      ? `The partly restored database ${target} was dropped; the current database is unchanged.`
      : `The partly restored database ${target} could not be dropped: drop it by hand (dropdb --force ${target}).`;
    // psql stopping at an SQL error breaks our pipe: its own exit explains more than the EPIPE.
    const psqlFailed =
      applied.exitCode !== null && applied.exitCode !== 0 && !isAppError(applied.outputError);
    if (isAppError(applied.outputError) && !psqlFailed) throw applied.outputError;
    throw runError('psql', psql, { ...applied, outputError: null }, psqlErrorLine(applied.stderr), cleanup);
  } finally {
    await toolEnv.dispose();
  }
}

interface LoadSetup {
  psql: string;
  serverEnv: Record<string, string>;
  role: LoadRole;
  filters: Transform[];
  /** Filled by the role filter while the dump loads; given after it (a temporary owner's hand-over). */
  ownersLater: readonly LaterOwner[];
}

/** psql loads the dump into the new target, logged in as the load's role (never a superuser's session). */
async function runPsql(
  context: ExecutorContext,
  request: LoadRequest,
  feed: DumpFeed,
  { psql, serverEnv, role, filters, ownersLater }: LoadSetup,
): Promise<ToolRun> {
  const target = request.targetDatabase;
  // A superuser db_url never holds psql's session: a temporary role does, a member of the owner only.
  const login = await loginForLoad(context, psql, serverEnv, role, target, ownersLater);
  let run: ToolRun | undefined;
  try {
    await request.inputReady;
    run = await runTool({
      path: psql,
      // `-f -` rather than plain stdin: psql then names the line of an error (psql:<stdin>:1234: ERROR: ...).
      args: [
        '-X',
        '-q',
        '--no-password',
        '-v',
        'ON_ERROR_STOP=1',
        '--single-transaction',
        // The temporary role switches to the database's owner: the dump's SQL gets the owner's rights, not more.
        ...(role.setRole === null ? [] : ['-c', `SET ROLE ${quoteIdentifier(role.setRole)}`]),
        '-f',
        '-',
        '-d',
        target,
      ],
      env: login.env,
      logger: context.logger,
      signal: request.signal,
      feedStdin: async (stdin, kill) => {
        await feed(psqlInput(stdin, kill), filters);
      },
    });
  } finally {
    // Before the caller may swap: a copy loaded by a temporary owner goes to the real owner here, or the load fails.
    await login.end(run !== undefined && classifyRun(run) === 'ok');
  }
  return run;
}

function privilegeHint(stderr: string): string | undefined {
  return /permission denied to create database/i.test(stderr)
    ? 'The database user in db_url needs the CREATEDB privilege (ALTER ROLE <user> CREATEDB).'
    : undefined;
}

/** Runs even when the restore was cancelled, so it takes no abort signal. */
async function dropTarget(
  context: ExecutorContext,
  dropdb: string,
  target: string,
  env: Record<string, string>,
): Promise<boolean> {
  const run = await runTool({
    path: dropdb,
    args: ['--no-password', '--if-exists', '--force', target],
    env,
    logger: context.logger,
    timeoutMs: 300_000,
  });
  if (classifyRun(run) === 'ok') return true;
  context.logger.error(
    `Could not drop the partly restored database ${target}: ${usefulStderrLine(run.stderr) ?? classifyRun(run)}`,
  );
  return false;
}
