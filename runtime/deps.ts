// The composition root: builds the real ports from the configuration and one app around them.
import type { Context, Hono } from 'hono';
import type { BackupDeps } from '../handlers/backup/deps';
import { createRehearsalQueue } from '../handlers/backup/rehearsal-queue';
import type { Clock } from '../handlers/ports/clock';
import type { PeriodicTask, RunTaskDeps } from '../handlers/tasks/run-task';
import { createBackup } from '../handlers/backup/create-backup';
import { checkFreshness } from '../handlers/backup/freshness';
import { APP_VERSION } from '../handlers/version';
import { createApp } from './http/app';
import { createSignerSource } from './backups/signing-key';
import { createBackupChainStore } from './db/backup-chain';
import { createAuditAnchorStore } from './db/audit-anchor';
import { createAccountsModule } from './auth/module';
import type { Config } from './config/types';
import { createDatabaseAdmin } from './db/admin';
import { createDbHandle, type DbHandle } from './db/handle';
import { createDatabaseLifecycle } from './db/lifecycle';
import { createTaskRunStore } from './db/task-runs';
import { createBackupTaskSource, executorsFor } from './backups/task-source';
import type { AppEnv } from './http/env';
import type { ServerLogger } from './observability/logger';
import { createMaintenanceMode } from './http/maintenance';
import { systemClock } from './observability/system-clock';
import { createReadOnlyHealer } from './startup/read-only-heal';
import { createOperationDeps } from './backups/operation-ports';
import type { OperationDeps } from '../handlers/operations/run-operation';
import type { ReadinessDeps } from '../handlers/readiness';
import { createMetricsRegistry, type MetricsRegistry } from './observability/metrics';
import { format2 } from './offsite/backup-format';
import { createOffsiteHooks } from './offsite/hooks';
import { createCaptureSupervisor, type CaptureSupervisor } from './pitr/supervisor';
import { createNotifyModule, type NotifyModule } from './notify/module';
import { createStatusSources } from './db/status-sources';
import { createOffsiteStateStore } from './db/offsite-state';

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
  backups: BackupDeps;
  metrics: MetricsRegistry;
  operations: OperationDeps;
  tasks: ReadonlyMap<string, PeriodicTask>;
  taskDeps: RunTaskDeps;
  /** Continuous protection (continuous = true): the Node server applies the settings; Lambda never does. */
  continuous: CaptureSupervisor;
  notify: NotifyModule;
  /** What GET /ready checks; also said once at start. */
  readiness: ReadinessDeps;
  /** Shutdown: a running backup stops now and removes its partial file (the rest finishes or fails). */
  stopWork(): void;
  close(): Promise<void>;
}

export function buildServer(options: ServerOptions): Server {
  const { config, dbUrl, logger } = options;
  const clock = options.clock ?? systemClock();
  const db = createDbHandle(dbUrl);
  const admin = createDatabaseAdmin({ url: dbUrl, logger });
  const maintenance = createMaintenanceMode();
  const signer = createSignerSource(logger);
  const notify = createNotifyModule({ db, config, clock, logger });
  const continuous = createCaptureSupervisor({
    dbUrl,
    logger,
    clock,
    signerFor: signer,
    notifier: notify.notifier,
  });
  const metrics = createMetricsRegistry({
    backupPeriodSeconds: () => {
      const task = config().tasks.find((t) => t.name === 'database_backup');
      return task && config().databaseBackup ? task.periodMs / 1000 : undefined;
    },
    heldWal: () => continuous.slot(),
  });
  const stopping = new AbortController();
  const parts = { clock, db, admin, maintenance, signer, notify, continuous, metrics };
  const backups = buildBackupDeps(options, { ...parts, stopping: stopping.signal });

  const operations = createOperationDeps({ db, clock, logger, metrics });
  const accounts = createAccountsModule({ db, config, logger, clock, addressOf: options.addressOf });
  const health = {
    pingDatabase: async () => {
      await db.query('SELECT 1');
      return true;
    },
  };
  const readiness: ReadinessDeps = { ...health, task: backups.task, admin };
  const statusSources = createStatusSources(db, notify.store, createOffsiteStateStore(db));
  const app = createApp({
    logger,
    health,
    readiness,
    maintenance,
    authenticate: accounts.authenticate,
    rateLimit: accounts.rateLimit,
    bodyTimeoutMs: () => config().dosPrevention.bodyTimeoutMs,
    accounts: accounts.routes,
    onWritesRefused: createReadOnlyHealer({ backups, db, logger }),
    backups: {
      ctx: backups,
      metrics,
      notifyTest: (user) => notify.test(user),
      operations: options.backgroundOperations === false ? undefined : operations,
    },
    status: {
      deps: () => ({ ...backups, sources: statusSources, server: config().domain ?? null }),
      pageEnabled: () => config().statusPage,
    },
  });

  const tasks = periodicTasks(backups);
  const taskDeps: RunTaskDeps = { runs: createTaskRunStore(db), admin, clock, logger };

  return {
    app,
    db,
    backups,
    metrics,
    operations,
    tasks,
    taskDeps,
    continuous,
    notify,
    readiness,
    stopWork: () => stopping.abort(new Error('the server is shutting down')),
    async close() {
      await continuous.stop();
      await notify.stop();
      await db.close();
      await admin.close?.();
    },
  };
}

interface BackupParts {
  clock: Clock;
  db: DbHandle;
  admin: BackupDeps['admin'];
  maintenance: BackupDeps['maintenance'];
  signer: ReturnType<typeof createSignerSource>;
  notify: NotifyModule;
  continuous: CaptureSupervisor;
  metrics: MetricsRegistry;
  stopping: AbortSignal;
}

/** The backup use cases' ports: the task source (the store bound per settings), rehearsals, off-site hooks. */
function buildBackupDeps(options: ServerOptions, parts: BackupParts): BackupDeps {
  const { config, dbUrl, logger } = options;
  const { clock, db, signer, notify, continuous, metrics } = parts;
  const offsiteState = createOffsiteStateStore(db);
  const backups: BackupDeps = {
    task: createBackupTaskSource({
      settings: () => config().databaseBackup,
      executorFor: executorsFor(dbUrl, logger),
      signerFor: signer,
      pitr: { dbUrl, logger, clock, heldWal: () => continuous.slot() },
      anchor: createAuditAnchorStore(db),
    }),
    chain: createBackupChainStore(db),
    admin: parts.admin,
    lifecycle: createDatabaseLifecycle({ db, logger }),
    maintenance: parts.maintenance,
    metrics,
    clock,
    logger,
    appVersion: APP_VERSION,
    notifier: notify.notifier,
    stopping: parts.stopping,
  };
  backups.rehearsals = createRehearsalQueue(backups);
  backups.offsite = createOffsiteHooks({
    format: format2({ now: () => clock.now() }),
    metrics,
    clock,
    logger,
    notifier: notify.notifier,
    record: (location, run) => offsiteState.record(location, run),
  });
  return backups;
}

/** The periodic tasks by name: the scheduled backup, then the freshness check whatever it did. */
function periodicTasks(backups: BackupDeps): Map<string, PeriodicTask> {
  return new Map<string, PeriodicTask>([
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
}
