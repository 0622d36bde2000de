// Backup, restore and operation figures plus Node's process metrics, served by prom-client for GET /metrics.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { BackupMetadata, BackupTrigger } from '../../handlers/backup/model';
import type { BackupMetrics } from '../../handlers/ports/metrics';
import type { OperationMetrics } from '../../handlers/ports/metrics';
import type { OffsiteMetrics } from '../../handlers/offsite/context';

export interface MetricsRegistry extends BackupMetrics, OperationMetrics, OffsiteMetrics {
  rehearsalSucceeded(at: Date): void;
  rehearsalFailed(): void;
  pitrRehearsalSucceeded(at: Date): void;
  pitrRehearsalFailed(): void;
  renderPrometheus(): Promise<string>;
  readonly contentType: string;
}

const TRIGGERS: readonly BackupTrigger[] = ['scheduled', 'manual'];

export interface MetricsOptions {
  processMetrics?: boolean;
  /** The backup task's period as configured now (hot reload); undefined without the task. */
  backupPeriodSeconds?: () => number | undefined;
  /** Continuous protection's replication slot as last checked, with its cap; null while capture is off. */
  heldWal?: () => { heldBytes: number; capBytes: number } | null;
}

export function createMetricsRegistry(options: MetricsOptions = {}): MetricsRegistry {
  const registry = new Registry();
  // Memory, CPU, event-loop lag, GC, handles: what an operator looks at first when the server misbehaves.
  if (options.processMetrics !== false) collectDefaultMetrics({ register: registry });
  // Registered in this order, so that /metrics lists them as it always has.
  const backups = backupMetrics(registry);
  const restores = restoreMetrics(registry);
  settingsGauges(registry, options);
  const operationDuration = new Histogram({
    name: 'bomnipotent_operation_duration_seconds',
    help: 'How long long operations (backup, restore) started through the API took, by kind and outcome.',
    labelNames: ['kind', 'outcome'],
    buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200],
    registers: [registry],
  });
  return {
    contentType: registry.contentType,
    ...backups,
    ...restores,
    operationFinished(kind, outcome, seconds) {
      operationDuration.observe({ kind, outcome }, seconds);
    },
    ...offsiteMetrics(registry),
    ...rehearsalMetrics(registry),
    renderPrometheus: () => registry.metrics(),
  };
}

/**
 * A gauge registered only once it has a value: a "last success" of 0 would read as "1970". Returns its setter.
 */
function lateGauge(registry: Registry, name: string, help: string): (value: number) => void {
  const gauge = new Gauge({ name, help, registers: [] });
  let registered = false;
  return (value) => {
    if (!registered) {
      registry.registerMetric(gauge);
      registered = true;
    }
    gauge.set(value);
  };
}

function backupMetrics(registry: Registry): Pick<BackupMetrics, 'backupSucceeded' | 'backupFailed'> {
  // The "last" gauges appear together, at the first backup that succeeded in this process.
  const lastAt = lateGauge(
    registry,
    'bomnipotent_backup_last_success_timestamp_seconds',
    'Unix time at which the last successful backup started.',
  );
  const lastSize = lateGauge(
    registry,
    'bomnipotent_backup_last_size_bytes',
    'Size of the last successful backup file.',
  );
  const lastDuration = lateGauge(
    registry,
    'bomnipotent_backup_last_duration_seconds',
    'How long the last successful backup took.',
  );
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
  return {
    backupSucceeded(metadata: BackupMetadata) {
      backupSuccess.inc();
      lastAt(Date.parse(metadata.startedAt) / 1000);
      lastSize(metadata.sizeBytes);
      lastDuration(metadata.durationMs / 1000);
    },
    backupFailed(trigger) {
      backupFailures.inc({ trigger });
    },
  };
}

function restoreMetrics(registry: Registry): Pick<BackupMetrics, 'restoreSucceeded' | 'restoreFailed'> {
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
  return {
    restoreSucceeded: () => restoreSuccess.inc(),
    restoreFailed: () => restoreFailures.inc(),
  };
}

/** Gauges read from the settings and the running capture at each scrape: the backup period, the held-back WAL. */
function settingsGauges(registry: Registry, options: MetricsOptions): void {
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
  const heldWal = options.heldWal;
  if (!heldWal) return;
  const gauge = (
    name: string,
    help: string,
    pick: (held: { heldBytes: number; capBytes: number }) => number,
  ) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        const held = heldWal();
        if (held === null) this.reset();
        else this.set(pick(held));
      },
    });
  gauge(
    'bomnipotent_pitr_held_wal_bytes',
    'WAL the replication slot of continuous protection makes the database server keep, as last checked.',
    (held) => held.heldBytes,
  );
  gauge(
    'bomnipotent_pitr_max_held_wal_bytes',
    'The configured max_held_wal: past it the slot is dropped and capture starts again.',
    (held) => held.capBytes,
  );
}

/** Off-site copies: the "last success" gauge appears only once a copy run succeeded, like the backup's. */
function offsiteMetrics(registry: Registry): OffsiteMetrics {
  const last = lateGauge(
    registry,
    'bomnipotent_offsite_last_success_timestamp_seconds',
    'Unix time at which the last off-site copy run finished with every backup in the store.',
  );
  const newest = lateGauge(
    registry,
    'bomnipotent_offsite_newest_backup_timestamp_seconds',
    'Signed creation time (Unix) of the newest trusted backup in the off-site store, as last read; 0 when it held none.',
  );
  const failures = new Counter({
    name: 'bomnipotent_offsite_failures_total',
    help: 'Off-site copy runs that failed (store unreachable or refusing) since the server started.',
    registers: [registry],
  });
  return {
    offsiteSucceeded: (at) => last(at.getTime() / 1000),
    offsiteFailed: () => failures.inc(),
    offsiteNewest: (at) => newest(at === null ? 0 : at.getTime() / 1000),
  };
}

function rehearsalMetrics(
  registry: Registry,
): Pick<
  MetricsRegistry,
  'rehearsalSucceeded' | 'rehearsalFailed' | 'pitrRehearsalSucceeded' | 'pitrRehearsalFailed'
> {
  const last = lateGauge(
    registry,
    'bomnipotent_backup_last_rehearsal_success_timestamp_seconds',
    'Unix time at which the last rehearsal (a backup restored in full into the standby) passed.',
  );
  const failures = new Counter({
    name: 'bomnipotent_backup_rehearsal_failures_total',
    help: 'Rehearsals that failed (the backup did not restore, or its rows did not match) since the server started.',
    registers: [registry],
  });
  const pitrLast = lateGauge(
    registry,
    'bomnipotent_pitr_last_rehearsal_success_timestamp_seconds',
    'Unix time at which the last PITR rehearsal (a restore to a recent point, its row counts checked) passed.',
  );
  const pitrFailures = new Counter({
    name: 'bomnipotent_pitr_rehearsal_failures_total',
    help: 'PITR rehearsals that failed (the restore to the point failed, or its row counts differed) since the server started.',
    registers: [registry],
  });
  return {
    rehearsalSucceeded: (at: Date) => last(at.getTime() / 1000),
    rehearsalFailed: () => failures.inc(),
    pitrRehearsalSucceeded: (at: Date) => pitrLast(at.getTime() / 1000),
    pitrRehearsalFailed: () => pitrFailures.inc(),
  };
}
