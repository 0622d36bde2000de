// bomnipotent_server: config, database, HTTP(S) listeners, scheduler, hot reload and signals. No logic of its own.
import { parseArgs } from 'node:util';
import type { ServerType } from '@hono/node-server';
import { getConnInfo } from '@hono/node-server/conninfo';
import { dbWaitTimeoutMs, describeConfig, loadConfig, resolveConfigPath } from './config/index';
import { startEmbeddedDatabase, type EmbeddedDatabase } from './db/embedded';
import { APP_VERSION, buildServer, type Server } from './deps';
import { listen } from './node/listeners';
import { createLogger } from './observability/logger';
import { createScheduler, type Scheduler } from './node/scheduler';
import { maskSecrets } from './observability/mask';
import { logProcessWarnings } from './observability/process-warnings';
import { watchAndApply } from './node/reload';
import { watchStaleness } from './notify/staleness-watch';
import { watchPitrRehearsals } from './pitr/rehearsal-watch';
import { checkFileModes, sweepLeftoverPassfiles } from './startup/file-checks';
import { sweepOrphanedRecoveries } from './pitr/orphans';
import { prepareDatabase } from './startup/prepare-database';
import { createStartGate, PREPARING } from './node/start-gate';

const USAGE = `Usage: bomnipotent_server [--config PATH]

  --config PATH   the config.toml to use (else $BOMNIPOTENT_CONFIG, else /etc/bomnipotent_server/configs/config.toml)
  --version       print the version
  --help          print this help

Environment: BOMNIPOTENT_CONFIG (the config file), BOMNIPOTENT_DB_WAIT_TIMEOUT (seconds to wait for the
database at start, default 60).`;

interface Running {
  server: Server;
  listeners: ServerType[];
  scheduler: Scheduler;
  embedded: EmbeddedDatabase | undefined;
  watcher: { close(): void };
  staleness: { stop(): void };
  pitrRehearsals?: { stop(): void };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { config: { type: 'string' }, help: { type: 'boolean' }, version: { type: 'boolean' } },
    strict: true,
  });
  if (values.help) return void process.stdout.write(USAGE + '\n');
  if (values.version) return void process.stdout.write(`bomnipotent_server ${APP_VERSION}\n`);

  const path = resolveConfigPath(values.config, process.env);
  let config = loadConfig(path, process.env);
  const logger = createLogger({ level: config.log.level, file: config.log.file });
  logProcessWarnings(logger);
  logger.info(`Starting bomnipotent_server ${APP_VERSION} with ${describeConfig(config)}.`);
  await sweepLeftoverPassfiles(process.env, logger);
  await sweepOrphanedRecoveries(logger);
  checkFileModes(config, logger);

  const embedded = config.dbUrl ? undefined : await startEmbeddedDatabase(config.embeddedDb, logger);
  const dbUrl = config.dbUrl ?? embedded!.url;
  const server = buildServer({
    config: () => config,
    dbUrl,
    logger,
    addressOf: (c) => getConnInfo(c).remote.address ?? 'unknown',
  });
  let running: Running | undefined;
  let listeners: ServerType[] = []; // bound before the rest runs: closed on a stop before `running` is set
  const shutdown = async (signal: string) => {
    logger.info(`Received ${signal}; shutting down.`);
    await stop(running ?? { listeners }, server, embedded).catch((e: unknown) =>
      logger.error(`Shutdown: ${String(e)}`),
    );
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));

  try {
    // Bound first: while the database is awaited, GET /ready answers 503 with the reason, not a refused connection.
    const gate = createStartGate();
    listeners = await listen(server, config, logger, gate);
    await prepareDatabase(server, config, logger, {
      wait: { timeoutMs: dbWaitTimeoutMs(process.env) },
      onDatabaseReachable: () => gate.set(PREPARING),
    });
    gate.open();
    server.notify.delivery.start();
    const staleness = watchStaleness(server.backups, () => config.databaseBackup?.periodMs ?? null);
    const scheduler = createScheduler(server.tasks, server.taskDeps);
    scheduler.start(config.tasks);
    await server.continuous.apply(config.databaseBackup);
    const pitrRehearsals = watchPitrRehearsals(server.backups);
    const watcher = watchAndApply(path, process.env, {
      server,
      logger,
      current: config,
      scheduler,
      apply: (next) => (config = next),
    });
    running = { server, listeners, scheduler, embedded, watcher, staleness, pitrRehearsals };
  } catch (error) {
    await stop(running ?? { listeners }, server, embedded).catch(() => {});
    throw error;
  }
}

async function stop(
  running: Partial<Running> | undefined,
  server: Server,
  embedded: EmbeddedDatabase | undefined,
): Promise<void> {
  running?.watcher?.close();
  running?.staleness?.stop();
  running?.pitrRehearsals?.stop();
  server.stopWork();
  await running?.scheduler?.stop();
  for (const listener of running?.listeners ?? [])
    await new Promise((r) => listener.close(() => r(undefined)));
  await server.close();
  await embedded?.stop();
}

main().catch((error: unknown) => {
  // Start-up failures: one clear line, a non-zero exit. Messages are built without secrets.
  process.stderr.write(`[ERROR] ${maskSecrets(error instanceof Error ? error.message : String(error))}\n`);
  process.exit(1);
});
