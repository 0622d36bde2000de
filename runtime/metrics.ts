// In-process backup and restore figures, rendered in the Prometheus text format for GET /metrics.
import type { BackupMetadata, BackupMetrics, BackupTrigger } from '../handlers/ports';
import type { OffsiteMetrics } from '../handlers/offsite/context';

export interface MetricsRegistry extends BackupMetrics, OffsiteMetrics {
  renderPrometheus(): string;
}

interface Metric {
  name: string;
  type: 'gauge' | 'counter';
  help: string;
  samples: { labels?: string; value: number }[];
}

export function createMetricsRegistry(): MetricsRegistry {
  let last: { at: number; sizeBytes: number; durationSeconds: number } | null = null;
  const failures: Record<BackupTrigger, number> = { scheduled: 0, manual: 0 };
  let backupSuccesses = 0;
  let restoreSuccesses = 0;
  let restoreFailures = 0;
  let offsiteLastSuccess: number | null = null;
  let offsiteFailures = 0;

  const metrics = (): Metric[] => [
    // The "last" gauges appear only after a backup succeeded in this process: a 0 would read as "1970".
    ...(last
      ? ([
          {
            name: 'bomnipotent_backup_last_success_timestamp_seconds',
            type: 'gauge',
            help: 'Unix time at which the last successful backup started.',
            samples: [{ value: last.at }],
          },
          {
            name: 'bomnipotent_backup_last_size_bytes',
            type: 'gauge',
            help: 'Size of the last successful backup file.',
            samples: [{ value: last.sizeBytes }],
          },
          {
            name: 'bomnipotent_backup_last_duration_seconds',
            type: 'gauge',
            help: 'How long the last successful backup took.',
            samples: [{ value: last.durationSeconds }],
          },
        ] satisfies Metric[])
      : []),
    {
      name: 'bomnipotent_backup_success_total',
      type: 'counter',
      help: 'Backups that succeeded since the server started.',
      samples: [{ value: backupSuccesses }],
    },
    {
      name: 'bomnipotent_backup_failures_total',
      type: 'counter',
      help: 'Backups that failed or were refused for lack of space since the server started, by trigger.',
      samples: (Object.keys(failures) as BackupTrigger[]).map((trigger) => ({
        labels: `trigger="${trigger}"`,
        value: failures[trigger],
      })),
    },
    {
      name: 'bomnipotent_restore_success_total',
      type: 'counter',
      help: 'Restores that succeeded since the server started.',
      samples: [{ value: restoreSuccesses }],
    },
    {
      name: 'bomnipotent_restore_failures_total',
      type: 'counter',
      help: 'Restores that failed since the server started.',
      samples: [{ value: restoreFailures }],
    },
    ...offsiteMetrics(offsiteLastSuccess, offsiteFailures),
  ];

  return {
    backupSucceeded(metadata: BackupMetadata) {
      backupSuccesses += 1;
      last = {
        at: Date.parse(metadata.startedAt) / 1000,
        sizeBytes: metadata.sizeBytes,
        durationSeconds: metadata.durationMs / 1000,
      };
    },
    backupFailed(trigger) {
      failures[trigger] += 1;
    },
    restoreSucceeded() {
      restoreSuccesses += 1;
    },
    restoreFailed() {
      restoreFailures += 1;
    },
    offsiteSucceeded(at) {
      offsiteLastSuccess = at.getTime() / 1000;
    },
    offsiteFailed() {
      offsiteFailures += 1;
    },
    renderPrometheus() {
      return metrics()
        .map((m) =>
          [
            `# HELP ${m.name} ${m.help}`,
            `# TYPE ${m.name} ${m.type}`,
            ...m.samples.map((s) => `${m.name}${s.labels ? `{${s.labels}}` : ''} ${s.value}`),
          ].join('\n'),
        )
        .join('\n')
        .concat('\n');
    },
  };
}

function offsiteMetrics(lastSuccess: number | null, failures: number): Metric[] {
  return [
    ...(lastSuccess === null
      ? []
      : [
          {
            name: 'bomnipotent_offsite_last_success_timestamp_seconds',
            type: 'gauge' as const,
            help: 'Unix time at which the last off-site copy run finished with every backup in the store.',
            samples: [{ value: lastSuccess }],
          },
        ]),
    {
      name: 'bomnipotent_offsite_failures_total',
      type: 'counter',
      help: 'Off-site copy runs that failed (store unreachable or refusing) since the server started.',
      samples: [{ value: failures }],
    },
  ];
}
