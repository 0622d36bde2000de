// Backup, restore and operation figures plus Node's process metrics, served by prom-client for GET /metrics.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { BackupMetadata, BackupMetrics, BackupTrigger } from '../handlers/ports';
import type { OperationMetrics } from '../handlers/operations/types';

export interface MetricsRegistry extends BackupMetrics, OperationMetrics {
  renderPrometheus(): Promise<string>;
  readonly contentType: string;
}

const TRIGGERS: readonly BackupTrigger[] = ['scheduled', 'manual'];

export interface MetricsOptions {
  processMetrics?: boolean;
  /** The backup task's period as configured now (hot reload); undefined without the task. */
  backupPeriodSeconds?: () => number | undefined;
}

export function createMetricsRegistry(options: MetricsOptions = {}): MetricsRegistry {
  const registry = new Registry();
  // Memory, CPU, event-loop lag, GC, handles: what an operator looks at first when the server misbehaves.
  if (options.processMetrics !== false) collectDefaultMetrics({ register: registry });

  // The "last" gauges are registered only once a backup succeeded in this process: a 0 would read as "1970".
  const last = {
    at: new Gauge({
      name: 'bomnipotent_backup_last_success_timestamp_seconds',
      help: 'Unix time at which the last successful backup started.',
      registers: [],
    }),
    size: new Gauge({
      name: 'bomnipotent_backup_last_size_bytes',
      help: 'Size of the last successful backup file.',
      registers: [],
    }),
    duration: new Gauge({
      name: 'bomnipotent_backup_last_duration_seconds',
      help: 'How long the last successful backup took.',
      registers: [],
    }),
  };
  let lastRegistered = false;
  const backupSuccess = new Counter({
    name: 'bomnipotent_backup_success_total',
    help: 'Backups that succeeded since the server started.',
    registers: [registry],
  });
  const backupFailures = new Counter({
    name: 'bomnipotent_backup_failures_total',
    help: 'Backups that failed or were refused for lack of space since the server started, by trigger.',
    labelNames: ['trigger'],
    registers: [registry],
  });
  for (const trigger of TRIGGERS) backupFailures.inc({ trigger }, 0);
  const restoreSuccess = new Counter({
    name: 'bomnipotent_restore_success_total',
    help: 'Restores that succeeded since the server started.',
    registers: [registry],
  });
  const restoreFailures = new Counter({
    name: 'bomnipotent_restore_failures_total',
    help: 'Restores that failed since the server started.',
    registers: [registry],
  });
  const period = options.backupPeriodSeconds;
  if (period) {
    new Gauge({
      name: 'bomnipotent_backup_period_seconds',
      help: 'The configured period of the database_backup task: alerts compare the backup age with it.',
      registers: [registry],
      collect() {
        const seconds = period();
        if (seconds === undefined) this.reset();
        else this.set(seconds);
      },
    });
  }
  const operationDuration = new Histogram({
    name: 'bomnipotent_operation_duration_seconds',
    help: 'How long long operations (backup, restore) started through the API took, by kind and outcome.',
    labelNames: ['kind', 'outcome'],
    buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200],
    registers: [registry],
  });

  return {
    contentType: registry.contentType,
    backupSucceeded(metadata: BackupMetadata) {
      backupSuccess.inc();
      if (!lastRegistered) {
        for (const gauge of Object.values(last)) registry.registerMetric(gauge);
        lastRegistered = true;
      }
      last.at.set(Date.parse(metadata.startedAt) / 1000);
      last.size.set(metadata.sizeBytes);
      last.duration.set(metadata.durationMs / 1000);
    },
    backupFailed(trigger) {
      backupFailures.inc({ trigger });
    },
    restoreSucceeded() {
      restoreSuccess.inc();
    },
    restoreFailed() {
      restoreFailures.inc();
    },
    operationFinished(kind, outcome, seconds) {
      operationDuration.observe({ kind, outcome }, seconds);
    },
    renderPrometheus: () => registry.metrics(),
  };
}
