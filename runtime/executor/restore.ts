// createdb a new database, psql the dump into it in one transaction that stops at the first error; drop it on failure.
import { Writable } from 'node:stream';
import { isAppError, type AppError } from '../../handlers/errors';
import { isBackupFileName } from '../../handlers/backup/naming';
import { requireTool, type ExecutorContext } from './executor-context';
import {
  EXECUTOR_ERRORS,
  cancelled,
  databaseUnreachable,
  invalidName,
  targetExists,
  toolFailed,
  toolKilled,
  toolNotFound,
} from './errors';
import type { DatabaseLocale, ReadOptions, RestoreReport } from '../../handlers/backup/model';
import { writeToChild } from './child-input';
import { CopyRowCounter } from './copy-count';
import { prepareToolEnvironment } from './pg-env';
import { classifyRun, looksUnreachable, runTool, usefulStderrLine, type ToolRun } from './process';
import { openBackup, type OpenedBackup } from './open-backup';
import { discard, spoolBackup, streamBackup } from './read-backup';
import { needsOlderServerFilter, OlderServerFilter } from './older-server-filter';
import { findLoadRole, quoteIdentifier, roleFilterFor } from './load-role';

export interface RestoreRequest {
  directory: string;
  file: string;
  targetDatabase: string;
  read: ReadOptions;
  serverMajor?: number | undefined;
  locale?: DatabaseLocale | undefined;
  signal?: AbortSignal | undefined;
  onProgress?: ((bytesFed: number) => void) | undefined;
  countRows?: boolean | undefined;
}

// Locale names as PostgreSQL reports them (en_US.UTF-8, C, de-DE-x-icu ...): nothing a tool could read as an option.
const SAFE_LOCALE = /^[A-Za-z0-9_][A-Za-z0-9_.@+-]{0,127}$/;

/** createdb options that give the new database the encoding and locale of the one it replaces. */
export function localeArguments(locale: DatabaseLocale | undefined): string[] {
  if (!locale) return [];
  const values = [locale.encoding, locale.collate, locale.ctype, locale.icuLocale ?? 'C'];
  if (!values.every((v) => SAFE_LOCALE.test(v))) throw invalidName('database locale', values.join(' / '));
  const args = [
    `--encoding=${locale.encoding}`,
    `--lc-collate=${locale.collate}`,
    `--lc-ctype=${locale.ctype}`,
  ];
  if (locale.provider === 'icu' && locale.icuLocale)
    args.push('--locale-provider=icu', `--icu-locale=${locale.icuLocale}`);
  return args;
}

// Plain identifiers only: such a name can be neither an option (-x) nor a connection string (a=b) for the tools.
const SAFE_DATABASE_NAME = /^[A-Za-z_][A-Za-z0-9_$-]{0,62}$/;

export function isSafeDatabaseName(name: string): boolean {
  return SAFE_DATABASE_NAME.test(name);
}

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
    highWaterMark: 1024 * 1024,
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

export async function restoreDatabase(
  context: ExecutorContext,
  request: RestoreRequest,
): Promise<RestoreReport> {
  const { file, targetDatabase: target } = request;
  if (!isBackupFileName(file)) throw invalidName('backup file name', file);
  if (!isSafeDatabaseName(target)) throw invalidName('target database name', target);
  // Opened without following symlinks, copied once into a private spool while hashed, and proven against the
  // signed manifest before a byte is decoded: psql reads the spool, so a second writer of the file between the
  // check and the feed changes nothing. A file without a signature is read in full through every check first.
  const opened = await openBackup(request.directory, file, request.read);
  let spooled: OpenedBackup;
  try {
    spooled = await spoolBackup(opened);
  } finally {
    await opened.handle.close();
  }
  try {
    if (!spooled.signed) await streamBackup(context, spooled, discard(), request.read);
    return await applyBackup(context, request, spooled);
  } finally {
    await spooled.handle.close();
  }
}

async function applyBackup(
  context: ExecutorContext,
  request: RestoreRequest,
  opened: OpenedBackup,
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

    const applied = await runTool({
      path: psql,
      // `-f -` rather than plain stdin: psql then names the line of an error (psql:<stdin>:1234: ERROR: ...).
      args: [
        '-X',
        '-q',
        '--no-password',
        '-v',
        'ON_ERROR_STOP=1',
        '--single-transaction',
        // A superuser's session loads as the database's owner: the dump's SQL gets the owner's rights, not more.
        ...(role.setRole === null ? [] : ['-c', `SET ROLE ${quoteIdentifier(role.setRole)}`]),
        '-f',
        '-',
        '-d',
        target,
      ],
      env: toolEnv.env,
      logger,
      signal: request.signal,
      // psql reads only what streamBackup releases: the verified bytes, its end only after the hash matched.
      feedStdin: async (stdin, kill) => {
        await streamBackup(context, opened, psqlInput(stdin, kill), request.read, request.onProgress, [
          // pg_dump 17's `SET transaction_timeout` stops psql on 15 and 16: that one header line is dropped.
          ...(needsOlderServerFilter(major) ? [new OlderServerFilter()] : []),
          // OWNER TO dropped, grants to missing roles dropped and named, role changes refused.
          roleFilter,
          ...(counter ? [counter] : []),
        ]);
      },
    });
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
