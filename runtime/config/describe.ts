// describeConfig: one line that says what the server will run with, safe to log (no password, no user, no token).
import { EMBEDDED_DATABASE } from '../db/embedded-name';
import { maskUrl } from '../observability/mask';
import { formatDuration } from './duration';
import type { Config } from './types';

export function describeConfig(config: Config): string {
  const database = config.dbUrl
    ? `database ${maskUrl(config.dbUrl)}`
    : `embedded PostgreSQL in "${config.embeddedDb.dataDirectory}" on port ${config.embeddedDb.port}, database ${EMBEDDED_DATABASE}`;
  const https = config.tls ? `, https ${config.httpsListenAddress} port ${config.httpsPort}` : '';
  const http =
    config.httpPort === undefined ? 'plain http off' : `http ${config.listenAddress} port ${config.httpPort}`;
  const tasks = config.tasks.map(
    (task) =>
      `${task.name} every ${formatDuration(task.periodMs)}${task.scheduled ? '' : ' (not scheduled)'}`,
  );
  const backup = config.databaseBackup;
  const backupPart = backup
    ? `; backups in "${backup.directory}" (keep ${backup.keep ?? 'all'}, executor ${backup.executor.kind})`
    : '; no database_backup task';
  return (
    `Configuration "${config.path}": ${database}; ${http}${https}; log level ${config.log.level}; ` +
    `tasks: ${tasks.length > 0 ? tasks.join(', ') : 'none'}${backupPart}`
  );
}
