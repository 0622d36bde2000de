// The Executor port in-process: the PostgreSQL tools as child processes of this server, the directory on its disk.
import type { Executor } from './executor';
import type { Logger } from '../../handlers/ports/logger';
import {
  appendAudit,
  readAudit,
  freeBytes,
  listCatalog,
  pruneBackups,
  removeBackup,
  writeRehearsal,
} from './catalog';
import type { ExecutorContext } from './executor-context';
import type { Durability } from './durability';
import { dumpDatabase } from './dump';
import { baseEnvironment, parsePostgresUrl } from './pg-env';
import { restoreDatabase } from './restore';
import { probeTools } from './tools';
import { verifyBackupFile } from './verify';

export interface LocalExecutorOptions {
  dbUrl: string;
  logger: Logger;
  /** Look for the tools only here (overrides PATH and /usr/lib/postgresql/<major>/bin). */
  toolDirectory?: string | undefined;
  /** Our environment: PATH for the lookup, and the few variables the tools inherit (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Debian's versioned client installs (default /usr/lib/postgresql). */
  versionedRoot?: string;
  /** The fsyncs of a dump (default: the file system's). */
  durability?: Durability;
}

export function createLocalExecutor(options: LocalExecutorOptions): Executor {
  const sourceEnv = options.env ?? process.env;
  const context: ExecutorContext = {
    connection: parsePostgresUrl(options.dbUrl),
    logger: options.logger,
    lookup: {
      toolDirectory: options.toolDirectory,
      pathEnv: sourceEnv.PATH,
      ...(options.versionedRoot === undefined ? {} : { versionedRoot: options.versionedRoot }),
    },
    sourceEnv,
    // Partial files older than this process cannot belong to a dump still running here.
    startedAtMs: Math.floor(performance.timeOrigin),
    serverMajor: null,
    ...(options.durability ? { durability: options.durability } : {}),
  };
  return {
    probe: async (serverMajor) => {
      context.serverMajor = serverMajor;
      return probeTools(context.lookup, serverMajor, baseEnvironment(sourceEnv), context.logger);
    },
    dump: (request) => dumpDatabase(context, request),
    list: ({ directory, trust }) => listCatalog(directory, trust),
    verify: (directory, file, options) => verifyBackupFile(context, directory, file, options),
    prune: (request) => pruneBackups(request),
    remove: (directory, file) => removeBackup(directory, file),
    freeBytes: (directory) => freeBytes(directory),
    restore: (request) => restoreDatabase(context, request),
    appendAudit: (directory, record, seal, written) => appendAudit(directory, record, seal, written),
    readAudit: (directory) => readAudit(directory),
    writeRehearsal: (directory, file, recordFile) => writeRehearsal(directory, file, recordFile),
  };
}
