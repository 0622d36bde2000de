// bomnipotent_executor: the executor sidecar process. Settings from the environment, the in-process executor behind
// the sidecar app, @hono/node-server to serve it, SIGTERM to stop. No logic of its own.
import { serve } from '@hono/node-server';
import { createLogger } from '../observability/logger';
import { maskSecrets, maskUrl, registerSecret } from '../observability/mask';
import { logProcessWarnings } from '../observability/process-warnings';
import { sweepLeftoverPassfiles } from '../startup/file-checks';
import { sweepLoadRolesAt } from '../startup/load-role-sweep';
import { createLocalExecutor } from '../executor/local';
import { describeSidecarOffsite } from './offsite-transfer';
import { createSidecarApp } from './app';
import { readSidecarSettings, SidecarSettingsError, type SidecarSettings } from './settings';

const SHUTDOWN_GRACE_MS = 20_000;

function start(settings: SidecarSettings): void {
  registerSecret(settings.token);
  const logger = createLogger({ level: settings.logLevel });
  logProcessWarnings(logger);
  // The sidecar runs the pg tools: a run killed with it may have left its password file behind.
  void sweepLeftoverPassfiles(process.env, logger);
  // And the temporary load roles of its restores killed mid-load (its own host and pid namespace, a pid now gone).
  void sweepLoadRolesAt(settings.dbUrl, logger);
  const shutdown = new AbortController();
  const executor = createLocalExecutor({
    dbUrl: settings.dbUrl,
    logger,
    toolDirectory: settings.toolDirectory,
  });
  const app = createSidecarApp({
    executor,
    token: settings.token,
    logger,
    allowedDirectory: settings.directory,
    database: settings.database,
    shutdownSignal: shutdown.signal,
    offsite: settings.offsite,
    trust: { trustedKeys: settings.trustedKeys, allowUnsigned: settings.allowUnsigned },
  });

  const server = serve({ fetch: app.fetch, hostname: settings.host, port: settings.port }, (info) => {
    const host = info.family === 'IPv6' ? `[${info.address}]` : info.address;
    logger.info(`Executor sidecar listening on http://${host}:${info.port}`);
    logger.info(
      `Executor sidecar serves the backup directory '${settings.directory}' for ${maskUrl(settings.dbUrl)}.`,
    );
    logger[settings.trustedKeys ? 'info' : 'warn'](
      settings.trustedKeys
        ? `Executor sidecar trusts the backups signed by ${settings.trustedKeys.join(', ')}${settings.allowUnsigned ? '; it restores untrusted files when asked (BOMNIPOTENT_EXECUTOR_ALLOW_UNSIGNED)' : ''}.`
        : "Executor sidecar has no BOMNIPOTENT_EXECUTOR_TRUSTED_KEYS and trusts the keys its caller names: set it to the server's backup-signing public key (logged at the server's start) and its trusted_keys.",
    );
    logger.info(
      settings.offsite
        ? `Executor sidecar copies off-site only to ${describeSidecarOffsite(settings.offsite)}.`
        : 'Executor sidecar has no off-site store (BOMNIPOTENT_EXECUTOR_OFFSITE): off-site transfers are refused.',
    );
  });
  server.on('error', (error: Error) => {
    logger.error(`Executor sidecar cannot listen on ${settings.host}:${settings.port}: ${error.message}`);
    process.exit(1);
  });

  // Running dumps and restores are aborted (the executor removes their temporary files), then the process ends.
  const stop = (signal: string) => {
    if (shutdown.signal.aborted) return;
    logger.info(`Executor sidecar received ${signal}; stopping.`);
    shutdown.abort(new Error(`The executor sidecar is shutting down (${signal}).`));
    server.close(() => process.exit(0));
    setTimeout(() => process.exit(0), SHUTDOWN_GRACE_MS).unref();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

try {
  start(readSidecarSettings(process.env));
} catch (error) {
  const message = error instanceof SidecarSettingsError ? error.message : maskSecrets(String(error));
  process.stderr.write(`bomnipotent_executor: ${message}\n`);
  process.exit(2);
}
