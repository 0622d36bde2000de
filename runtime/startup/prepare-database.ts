// What the server does once before serving, for every runtime: database ready, crash recovery, migrations, checks.
import { recoverInterruptedRehearsal, recoverInterruptedRestore } from '../../handlers/backup/recover';
import { isAppError, sentenceOf } from '../../handlers/errors';
import { checkReadiness } from '../../handlers/readiness';
import { recoveredEvent } from '../../handlers/ports/notifier';
import { checkTmpAdmin } from '../auth/module';
import type { Config } from '../config/types';
import { urlForDatabase } from '../db/admin';
import { migrate } from '../db/migrate';
import { markInterruptedOperations } from '../backups/operation-ports';
import { waitForDatabase, type WaitOptions } from '../db/wait';
import { warnAboutSuperuser } from './superuser-warning';
import { sweepLeftoverLoadRoles } from './load-role-sweep';
import type { Server } from '../deps';
import type { ServerLogger } from '../observability/logger';

export async function prepareDatabase(
  server: Server,
  config: Config,
  logger: ServerLogger,
  options: { wait?: WaitOptions; probeTools?: boolean; onDatabaseReachable?: () => void } = {},
): Promise<void> {
  // The maintenance database first: a restore killed mid-swap may have left the server's own database renamed aside.
  await waitForDatabase(urlForDatabase(server.db.url, 'postgres'), logger, {
    ...options.wait,
    serves: server.db.url,
  });
  options.onDatabaseReachable?.();
  await recoverInterruptedRestore(server.backups);
  await recoverInterruptedRehearsal(server.backups);
  const version = await migrate(server.db.pool(), logger);
  logger.info(`Database schema is at version ${version}.`);
  await warnAboutSuperuser(server.db.pool(), logger);
  // After the recovery above dropped a killed restore's scratch copy: its load role then owns nothing elsewhere.
  await sweepLeftoverLoadRoles(server.db.pool(), logger);
  await markInterruptedOperations(server.backups.admin, server.operations);
  await checkTmpAdmin(config, server.db);
  if (config.user.tmpAdmin) {
    logger.warn(
      `[user] tmp_admin is set to '${config.user.tmpAdmin}'` +
        (config.user.tmpAdminKey ? ` (key ${config.user.tmpAdminKey})` : ' without a key fingerprint') +
        ': remove it once that user holds the admin role.',
    );
  }
  warnWithoutDomain(config, logger);
  if (!config.databaseBackup) return;
  if (options.probeTools === false) checkSigningKey(server, logger);
  else await sayReadiness(server, logger);
}

/**
 * Without `domain` a signature is checked against the request's Host header, which the sender chooses: a request
 * signed for another server (the same user and key there) can be replayed here. Accepted, said once at start.
 */
function warnWithoutDomain(config: Config, logger: ServerLogger): void {
  if (config.domain !== undefined) return;
  logger.warn(
    'No `domain` is set: signed requests are checked only against their Host header, which the sender chooses, so a ' +
      'request signed for another server where the same user has the same key can be replayed to this one. ' +
      'Set domain to the URL clients use for this server, e.g. domain = "https://bom.example.com".',
  );
}

/** The key and nothing else (Lambda: no tools to probe). */
function checkSigningKey(server: Server, logger: ServerLogger): void {
  try {
    server.backups.task.snapshot()?.store.signingKey();
  } catch (error) {
    const suggestion = isAppError(error) && error.suggestion ? ` ${error.suggestion}` : '';
    logger.error(
      `Backups will be refused until the backup-signing key is usable: ${sentenceOf(error)}${suggestion}`,
    );
  }
}

/**
 * What GET /ready answers, said once at start: one ERROR line with every reason backups cannot run (the server still
 * starts: reads work, and /ready turns 200 once it is fixed), a WARN line per lesser problem.
 */
async function sayReadiness(server: Server, logger: ServerLogger): Promise<void> {
  const report = await checkReadiness(server.readiness);
  for (const warning of report.warnings) logger.warn(warning);
  const { notifier, admin } = server.backups;
  const key = `startup_unusable:${admin.databaseName}`;
  if (report.reasons.length > 0) {
    logger.error(
      `Backups cannot run: ${report.reasons.join(' ')} GET /ready answers 503 until this is fixed.`,
    );
    notifier?.problem(key, {
      kind: 'startup_unusable',
      severity: 'critical',
      database: admin.databaseName,
      backup: null,
      reason: `Backups cannot run: ${report.reasons.join(' ')}`,
      suggestion:
        'Fix what the reason names and restart the server (or change the config); GET /ready turns 200 then.',
    });
  } else {
    notifier?.resolved(
      key,
      recoveredEvent('startup_unusable', admin.databaseName, 'Backups can run again (checked at start).'),
    );
    logger.info(`Ready: backups can run into ${server.backups.task.snapshot()?.store.directory ?? '?'}.`);
  }
  if (!(await admin.canCreateDatabases().catch(() => true))) {
    logger.warn(
      `The database role may not create databases: backups work, but a complete restore needs CREATEDB ` +
        `(ALTER ROLE <role> CREATEDB) and ownership of '${admin.databaseName}'.`,
    );
  }
}
