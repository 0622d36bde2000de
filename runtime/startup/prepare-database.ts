// What the server does once before serving, for every runtime: database ready, crash recovery, migrations, checks.
import { recoverInterruptedRehearsal, recoverInterruptedRestore } from '../../handlers/backup/recover';
import { isAppError } from '../../handlers/errors';
import { checkTmpAdmin } from '../auth/module';
import type { Config } from '../config/types';
import { urlForDatabase } from '../db/admin';
import { migrate } from '../db/migrate';
import { markInterruptedOperations } from '../backups/operation-ports';
import { waitForDatabase, type WaitOptions } from '../db/wait';
import type { Server } from '../deps';
import type { ServerLogger } from '../observability/logger';

export async function prepareDatabase(
  server: Server,
  config: Config,
  logger: ServerLogger,
  options: { wait?: WaitOptions; probeTools?: boolean } = {},
): Promise<void> {
  // The maintenance database first: a restore killed mid-swap may have left the server's own database renamed aside.
  await waitForDatabase(urlForDatabase(server.db.url, 'postgres'), logger, {
    ...options.wait,
    serves: server.db.url,
  });
  await recoverInterruptedRestore(server.backups);
  await recoverInterruptedRehearsal(server.backups);
  const version = await migrate(server.db.pool(), logger);
  logger.info(`Database schema is at version ${version}.`);
  await markInterruptedOperations(server.backups.admin, server.operations);
  await checkTmpAdmin(config, server.db);
  if (config.user.tmpAdmin) {
    logger.warn(
      `[user] tmp_admin is set to '${config.user.tmpAdmin}'` +
        (config.user.tmpAdminKey ? ` (key ${config.user.tmpAdminKey})` : ' without a key fingerprint') +
        ': remove it once that user holds the admin role.',
    );
  }
  if (config.databaseBackup) checkSigningKey(server, logger);
  if (options.probeTools !== false && config.databaseBackup) await checkBackupTools(server, logger);
}

/** The backup-signing key is loaded (or generated) at start, so that an unusable one is said at once, not at 3 am. */
function checkSigningKey(server: Server, logger: ServerLogger): void {
  try {
    server.backups.task.snapshot()?.store.signingKey();
  } catch (error) {
    const suggestion = isAppError(error) && error.suggestion ? ` ${error.suggestion}` : '';
    logger.error(
      `Backups will be refused until the backup-signing key is usable: ${error instanceof Error ? error.message : String(error)}${suggestion}`,
    );
  }
}

/** Each problem is logged once at start, with what to do; the server still starts (reads work without the tools). */
async function checkBackupTools(server: Server, logger: ServerLogger): Promise<void> {
  const { admin } = server.backups;
  try {
    const serverVersion = await admin.serverVersion();
    const major = Number.parseInt(serverVersion, 10);
    const store = server.backups.task.snapshot()?.store;
    if (!store) return;
    const report = await store.probeTools(major);
    for (const problem of report.problems) logger.warn(problem);
    if (report.problems.length === 0) {
      logger.info(`Backup tools: pg_dump ${report.pgDumpVersion ?? '?'} for PostgreSQL ${serverVersion}.`);
    }
    if (!(await admin.canCreateDatabases())) {
      logger.warn(
        `The database role may not create databases: backups work, but a complete restore needs CREATEDB ` +
          `(ALTER ROLE <role> CREATEDB) and ownership of '${admin.databaseName}'.`,
      );
    }
  } catch (error) {
    logger.warn(
      `Could not check the backup tools: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}
