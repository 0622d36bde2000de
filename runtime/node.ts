// bomnipotent_server: config, database, HTTP(S) listeners, scheduler, hot reload and signals. No logic of its own.
import { readFileSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import { parseArgs } from 'node:util';
import { serve, type ServerType } from '@hono/node-server';
import { getConnInfo } from '@hono/node-server/conninfo';
import { checkTmpAdmin } from './auth/module';
import { loadConfig, resolveConfigPath, watchConfig, describeConfig, type Config } from './config/index';
import { startEmbeddedDatabase, type EmbeddedDatabase } from './db/embedded';
import { APP_VERSION, buildServer, type Server } from './deps';
import { createLogger, type ServerLogger } from './logger';
import { createScheduler, type Scheduler } from './scheduler';
import { maskSecrets } from './mask';
import { prepareDatabase } from './startup';

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
  logger.info(`Starting bomnipotent_server ${APP_VERSION} with ${describeConfig(config)}.`);

  const embedded = config.dbUrl ? undefined : await startEmbeddedDatabase(config.embeddedDb, logger);
  const dbUrl = config.dbUrl ?? embedded!.url;
  const server = buildServer({
    config: () => config,
    dbUrl,
    logger,
    addressOf: (c) => getConnInfo(c).remote.address ?? 'unknown',
  });
  let running: Running | undefined;
  const shutdown = async (signal: string) => {
    logger.info(`Received ${signal}; shutting down.`);
    await stop(running, server, embedded).catch((e: unknown) => logger.error(`Shutdown: ${String(e)}`));
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));

  try {
    const waitSeconds = Number(process.env.BOMNIPOTENT_DB_WAIT_TIMEOUT ?? 60);
    await prepareDatabase(server, config, logger, { wait: { timeoutMs: waitSeconds * 1000 } });
    const listeners = await listen(server, config, logger);
    const scheduler = createScheduler(server.tasks, server.taskDeps);
    scheduler.start(config.tasks);
    const watcher = watchConfig(path, {
      env: process.env,
      logger,
      current: config,
      accept: (next) => checkTmpAdmin(next, server.db),
      onReload: applyReload,
    });
    running = { server, listeners, scheduler, embedded, watcher };
  } catch (error) {
    await stop(running, server, embedded).catch(() => {});
    throw error;
  }

  function applyReload(next: Config): void {
    config = next;
    logger.setLevel(next.log.level);
    logger.setFile(next.log.file);
    running?.scheduler.reschedule(next.tasks);
  }
}

async function listen(server: Server, config: Config, logger: ServerLogger): Promise<ServerType[]> {
  const listeners = [await listenOn(server, config.httpPort, undefined, logger)];
  if (config.tls) {
    const tls = {
      cert: readFileSync(config.tls.certificateChainPath),
      key: readFileSync(config.tls.secretKeyPath),
    };
    listeners.push(await listenOn(server, config.httpsPort, tls, logger));
  }
  return listeners;
}

function listenOn(
  server: Server,
  port: number,
  tls: { cert: Buffer; key: Buffer } | undefined,
  logger: ServerLogger,
): Promise<ServerType> {
  return new Promise((resolve, reject) => {
    const listener = serve(
      {
        fetch: server.app.fetch,
        port,
        ...(tls ? { createServer: createHttpsServer, serverOptions: tls } : {}),
      },
      (info) => {
        logger.info(`Listening on ${tls ? 'https' : 'http'}://0.0.0.0:${info.port}`);
        resolve(listener);
      },
    );
    listener.once('error', (error: NodeJS.ErrnoException) => {
      const key = tls ? 'https_port' : 'http_port';
      reject(
        new Error(
          error.code === 'EADDRINUSE'
            ? `Port ${port} is already in use: stop the other process or set ${key} in the config.`
            : `Cannot listen on port ${port}: ${error.message}. Check ${key} in the config.`,
        ),
      );
    });
  });
}

async function stop(
  running: Running | undefined,
  server: Server,
  embedded: EmbeddedDatabase | undefined,
): Promise<void> {
  running?.watcher.close();
  await running?.scheduler.stop();
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
