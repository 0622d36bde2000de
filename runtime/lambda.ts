// AWS Lambda entries: `handler` serves the app behind a function URL or HTTP API; `scheduled` runs due periodic tasks.
import type { Context as LambdaContext, EventBridgeEvent } from 'aws-lambda';
import { handle } from 'hono/aws-lambda';
import { runTask, type TaskOutcome } from '../handlers/tasks/run-task';
import { loadConfig, resolveConfigPath, type Config } from './config/index';
import { buildServer, type Server } from './deps';
import { createLogger } from './observability/logger';
import { signingKeyFromEnvironment } from './backups/signing-key';
import { tmpdir } from 'node:os';
import { prepareDatabase } from './startup/prepare-database';

interface Booted {
  server: Server;
  config: Config;
}

let booting: Promise<Booted> | undefined;

/** One boot per Lambda container, shared by the HTTP and the scheduled entry. */
export function boot(env: NodeJS.ProcessEnv = process.env): Promise<Booted> {
  booting ??= (async () => {
    // Lambda's file system is read-only but for /tmp: the key comes from the environment (Secrets Manager).
    signingKeyFromEnvironment(env, tmpdir());
    const config = loadConfig(resolveConfigPath(undefined, env), env);
    if (!config.dbUrl)
      throw new Error('On AWS Lambda db_url is required: there is no embedded PostgreSQL there.');
    const logger = createLogger({ level: config.log.level });
    const server = buildServer({
      config: () => config,
      dbUrl: config.dbUrl,
      logger,
      addressOf: (c) =>
        (c.env as { event?: { requestContext?: { http?: { sourceIp?: string } } } } | undefined)?.event
          ?.requestContext?.http?.sourceIp ?? 'unknown',
      backgroundOperations: false, // a frozen function would leave an operation half done
    });
    // Tool probing is the executor sidecar's business here: the function itself runs no pg tools.
    await prepareDatabase(server, config, logger, { probeTools: false, wait: { timeoutMs: 20_000 } });
    return { server, config };
  })();
  booting.catch(() => (booting = undefined)); // a failed cold start is retried by the next invocation
  return booting;
}

export const handler = async (event: unknown, context: LambdaContext): Promise<unknown> => {
  const { server } = await boot();
  return handle(server.app)(event as never, context);
};

/** EventBridge schedule target: runs every scheduled task whose period has passed (the database records the last run). */
export const scheduled = async (
  _event: EventBridgeEvent<'Scheduled Event', unknown>,
): Promise<{ results: Record<string, TaskOutcome['status']> }> => {
  const { server, config } = await boot();
  const results: Record<string, TaskOutcome['status']> = {};
  for (const settings of config.tasks) {
    const task = server.tasks.get(settings.name);
    if (!settings.scheduled || !task) continue;
    results[settings.name] = (await runTask(task, settings.periodMs, false, server.taskDeps)).status;
  }
  return { results };
};
