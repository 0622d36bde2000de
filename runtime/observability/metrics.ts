// Backup, restore and operation figures plus Node's process metrics, served by prom-client for GET /metrics.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { BackupMetadata, BackupTrigger } from '../../handlers/backup/model';
import type { BackupMetrics } from '../../handlers/ports/metrics';
import type { OperationMetrics } from '../../handlers/ports/metrics';
import type { OffsiteMetrics } from '../../handlers/offsite/context';

export interface MetricsRegistry extends BackupMetrics, OperationMetrics, OffsiteMetrics {
  rehearsalSucceeded(at: Date): void;
  rehearsalFailed(): void;
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
  const heldWal = options.heldWal;
  if (heldWal) {
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
  const operationDuration = new Histogram({
    name: 'bomnipotent_operation_duration_seconds',
    help: 'How long long operations (backup, restore) started through the API took, by kind and outcome.',
    labelNames: ['kind', 'outcome'],
    buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200],
    registers: [registry],
  });
  // Off-site copies: the "last success" gauge appears only once a copy run succeeded, like the backup's.
  const offsiteLast = new Gauge({
    name: 'bomnipotent_offsite_last_success_timestamp_seconds',
    help: 'Unix time at which the last off-site copy run finished with every backup in the store.',
    registers: [],
  });
  let offsiteLastRegistered = false;
  const offsiteNewest = new Gauge({
    name: 'bomnipotent_offsite_newest_backup_timestamp_seconds',
    help: 'Signed creation time (Unix) of the newest trusted backup in the off-site store, as last read; 0 when it held none.',
    registers: [],
  });
  let offsiteNewestRegistered = false;
  const offsiteFailures = new Counter({
    name: 'bomnipotent_offsite_failures_total',
    help: 'Off-site copy runs that failed (store unreachable or refusing) since the server started.',
    registers: [registry],
  });

  const rehearsalLast = new Gauge({
    name: 'bomnipotent_backup_last_rehearsal_success_timestamp_seconds',
    help: 'Unix time at which the last rehearsal (a backup restored in full into the standby) passed.',
    registers: [],
  });
  let rehearsalLastRegistered = false;
  const rehearsalFailures = new Counter({
    name: 'bomnipotent_backup_rehearsal_failures_total',
    help: 'Rehearsals that failed (the backup did not restore, or its rows did not match) since the server started.',
    registers: [registry],
  });

  return {
    contentType: registry.contentType,
    rehearsalSucceeded(at: Date) {
      if (!rehearsalLastRegistered) {
        registry.registerMetric(rehearsalLast);
        rehearsalLastRegistered = true;
      }
      rehearsalLast.set(at.getTime() / 1000);
    },
    rehearsalFailed() {
      rehearsalFailures.inc();
    },
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
    offsiteSucceeded(at) {
      if (!offsiteLastRegistered) {
        registry.registerMetric(offsiteLast);
        offsiteLastRegistered = true;
      }
      offsiteLast.set(at.getTime() / 1000);
    },
    offsiteFailed() {
      offsiteFailures.inc();
    },
    offsiteNewest(at) {
      if (!offsiteNewestRegistered) {
        registry.registerMetric(offsiteNewest);
        offsiteNewestRegistered = true;
      }
      offsiteNewest.set(at === null ? 0 : at.getTime() / 1000);
    },
    renderPrometheus: () => registry.metrics(),
  };
}
