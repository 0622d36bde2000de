// The composition root: builds the real ports from the configuration and one app around them.
import type { Context, Hono } from 'hono';
import type { BackupContext } from '../handlers/backup/context';
import { createRehearsalQueue } from '../handlers/backup/rehearsal-queue';
import type { ExecutorSettings } from '../handlers/backup/settings';
import type { Clock } from '../handlers/ports/clock';
import type { Executor } from '../handlers/ports/executor';
import type { PeriodicTask, RunTaskDeps } from '../handlers/tasks/run-task';
import { createBackup } from '../handlers/backup/create-backup';
import { checkFreshness } from '../handlers/backup/freshness';
import { trustPolicy } from '../handlers/backup/trust';
import { APP_VERSION } from '../handlers/version';
import { backupTaskNotConfigured } from '../handlers/errors';
import { createApp } from './http/app';
import { createSignerSource } from './backups/signing-key';
import { createBackupChainStore } from './db/backup-chain';
import { createAccountsModule } from './auth/module';
import type { Config } from './config/types';
import { createDatabaseAdmin } from './db/admin';
import { createDbHandle, type DbHandle } from './db/handle';
import { createDatabaseLifecycle } from './db/lifecycle';
import { createTaskRunStore } from './db/task-runs';
import { createLocalExecutor } from './executor/local';
import { createSidecarExecutor } from './sidecar/client';
import type { AppEnv } from './http/env';
import type { ServerLogger } from './observability/logger';
import { createMaintenanceMode } from './http/maintenance';
import { createReadOnlyHealer } from './startup/read-only-heal';
import { createOperationDeps } from './backups/operation-ports';
import type { OperationDeps } from '../handlers/operations/run-operation';
import { createMetricsRegistry, type MetricsRegistry } from './observability/metrics';
import { format2 } from './offsite/backup-format';
import { createOffsiteHooks } from './offsite/hooks';

export { APP_VERSION };

export interface ServerOptions {
  config: () => Config;
  dbUrl: string; // secret
  logger: ServerLogger;
  clock?: Clock;
  /** The client's address for rate limiting; differs between Node and Lambda. */
  addressOf: (c: Context<AppEnv>) => string;
  /**
   * Whether work may go on after its answer (202 and polling). Lambda freezes a function once it has answered,
   * so there every request waits for its answer, as before.
   */
  backgroundOperations?: boolean;
}

export interface Server {
  app: Hono<AppEnv>;
  db: DbHandle;
  backups: BackupContext;
  metrics: MetricsRegistry;
  operations: OperationDeps;
  tasks: ReadonlyMap<string, PeriodicTask>;
  taskDeps: RunTaskDeps;
  close(): Promise<void>;
}

export function buildServer(options: ServerOptions): Server {
  const { config, dbUrl, logger } = options;
  const clock = options.clock ?? { now: () => new Date() };
  const db = createDbHandle(dbUrl);
  const admin = createDatabaseAdmin({ url: dbUrl, logger });
  const maintenance = createMaintenanceMode();
  const metrics = createMetricsRegistry({
    backupPeriodSeconds: () => {
      const task = config().tasks.find((t) => t.name === 'database_backup');
      return task && config().databaseBackup ? task.periodMs / 1000 : undefined;
    },
  });
  const executor = executorFor(dbUrl, logger);

  const signer = createSignerSource(logger);
  const backups: BackupContext = {
    settings: () => config().databaseBackup,
    executor: () => executor(config().databaseBackup?.executor ?? { kind: 'local' }),
    signer: () => {
      const settings = config().databaseBackup;
      if (!settings) throw backupTaskNotConfigured();
      return signer(settings);
    },
    chain: createBackupChainStore(db),
    admin,
    lifecycle: createDatabaseLifecycle({ db, logger }),
    maintenance,
    metrics,
    clock,
    logger,
    appVersion: APP_VERSION,
  };
  backups.rehearsals = createRehearsalQueue(backups);
  backups.offsite = createOffsiteHooks({
    settings: () => config().databaseBackup,
    format: format2({
      executor: () => backups.executor(),
      now: () => clock.now(),
      trust: () => {
        const settings = config().databaseBackup;
        return settings ? trustPolicy(backups, settings) : { trustedKeys: [] };
      },
    }),
    metrics,
    clock,
    logger,
  });

  const operations = createOperationDeps({ db, clock, logger, metrics });
  const accounts = createAccountsModule({ db, config, logger, clock, addressOf: options.addressOf });
  const app = createApp({
    logger,
    health: {
      pingDatabase: async () => {
        await db.query('SELECT 1');
        return true;
      },
    },
    maintenance,
    authenticate: accounts.authenticate,
    rateLimit: accounts.rateLimit,
    bodyTimeoutMs: () => config().dosPrevention.bodyTimeoutMs,
    accounts: accounts.routes,
    onWritesRefused: createReadOnlyHealer({ backups, db, logger }),
    backups: {
      ctx: backups,
      metrics,
      operations: options.backgroundOperations === false ? undefined : operations,
    },
  });

  const tasks = new Map<string, PeriodicTask>([
    [
      'database_backup',
      {
        name: 'database_backup',
        run: async () => {
          try {
            await createBackup({ trigger: 'scheduled', user: null }, backups);
          } finally {
            await checkFreshness(backups).catch(() => null);
          }
        },
      },
    ],
  ]);
  const taskDeps: RunTaskDeps = { runs: createTaskRunStore(db), admin, clock, logger };

  return {
    app,
    db,
    backups,
    metrics,
    operations,
    tasks,
    taskDeps,
    async close() {
      await db.close();
      await admin.close?.();
    },
  };
}

/** One executor per distinct setting, so a hot reload that switches to a sidecar takes effect. */
function executorFor(dbUrl: string, logger: ServerLogger): (settings: ExecutorSettings) => Executor {
  let cached: { key: string; executor: Executor } | undefined;
  return (settings) => {
    const key = settings.kind === 'local' ? 'local' : `sidecar ${settings.url} ${settings.token}`;
    if (cached?.key !== key) {
      const executor =
        settings.kind === 'local'
          ? createLocalExecutor({ dbUrl, logger })
          : createSidecarExecutor({ url: settings.url, token: settings.token });
      cached = { key, executor };
    }
    return cached.executor;
  };
}
