// The last step of point-in-time recovery: the application database's content, as the temporary instance holds it at
// the target, into the scratch database on the application's server. pg_dump reads the instance (its private
// socket); its output takes the one load path of every restore (load-dump.ts): the dump guard, then the role filter,
// createdb owned by the role the dump loads as and psql `SET ROLE` to it, so the recovered database's SQL never runs
// with the rights of a superuser db_url (no COPY ... TO PROGRAM) and its objects belong to that role.
import { pipeline } from 'node:stream/promises';
import type { DatabaseLocale } from '../../handlers/backup/model';
import type { Logger } from '../../handlers/ports/logger';
import { DumpGuard, DumpStructureError } from '../executor/dump-guard';
import { EXECUTOR_ERRORS, toolFailed } from '../executor/errors';
import type { ExecutorContext } from '../executor/executor-context';
import { loadDump } from '../executor/load-dump';
import { baseEnvironment, parsePostgresUrl } from '../executor/pg-env';
import { runTool, usefulStderrLine } from '../executor/process';
import { pgDumpWritesRestrict } from '../executor/tool-versions';
import { readToolVersion } from '../executor/tools';
import { findPgProgram } from './base-backup';

export interface CopyOutRequest {
  dbUrl: string;
  logger: Logger;
  /** The temporary instance: its socket folder and port, the role to read as, the database to read. */
  instance: { socket: string; port: number; user: string; database: string };
  major: number;
  targetDatabase: string;
  locale: DatabaseLocale;
}

const copyFailed = (detail: string | null, what = 'pg_dump from the temporary instance failed') =>
  toolFailed(
    EXECUTOR_ERRORS.RESTORE_FAILED,
    what,
    detail,
    'Nothing was changed. See the server log; try another target inside the window.',
  );

export async function copyOut(request: CopyOutRequest): Promise<void> {
  const { logger, instance, major } = request;
  const context: ExecutorContext = {
    connection: parsePostgresUrl(request.dbUrl),
    logger,
    lookup: { pathEnv: process.env.PATH },
    sourceEnv: process.env,
    startedAtMs: Math.floor(performance.timeOrigin),
    serverMajor: major,
  };
  const pgDump = await findPgProgram('pg_dump', major);
  // Only the instance's socket: nothing of db_url (host, password file, TLS) reaches this pg_dump.
  const env: Record<string, string> = {
    ...baseEnvironment(process.env),
    PGHOST: instance.socket,
    PGPORT: String(instance.port),
    PGUSER: instance.user,
    PGDATABASE: instance.database,
  };
  const version = await readToolVersion(pgDump, env, logger);
  if (version === null) throw copyFailed(`${pgDump} --version did not report a PostgreSQL version`);
  await loadDump(
    context,
    { targetDatabase: request.targetDatabase, serverMajor: major, locale: request.locale },
    async (sink, through) => {
      // The guard holds the end back until pg_dump's completion marker: a pg_dump that stops early never commits.
      const guard = new DumpGuard({ requireRestrict: pgDumpWritesRestrict(version) });
      const dumped = await runTool({
        path: pgDump,
        args: ['--format=plain', '--no-password'],
        env,
        logger,
        consumeStdout: (stdout) => pipeline([stdout, guard, ...through, sink]),
      });
      const error = dumped.outputError;
      if (error instanceof DumpStructureError)
        throw copyFailed(error.message, 'the content of the temporary instance is refused');
      if (error instanceof Error) throw error;
      if (error) throw copyFailed('its output could not be read');
      if (dumped.exitCode !== 0)
        throw copyFailed(usefulStderrLine(dumped.stderr) ?? `exit ${dumped.exitCode ?? dumped.signal}`);
    },
  );
}
