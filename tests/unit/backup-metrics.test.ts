import { describe, expect, it } from 'vitest';
import { createMetricsRegistry } from '../../runtime/observability/metrics';
import type { BackupMetadata } from '../../handlers/backup/model';

const metadata: BackupMetadata = {
  format: 'bomnipotent-backup/1',
  file: 'db_20260111_103024.dump',
  sha256: '00',
  sizeBytes: 4096,
  database: 'db',
  serverVersion: '15.20',
  pgDumpVersion: '15.20',
  schemaVersion: 2,
  appVersion: '0.1.0',
  startedAt: '2026-01-11T10:30:24.000Z',
  durationMs: 2500,
  trigger: 'manual',
  user: 'a',
};

describe('metrics registry', () => {
  it('renders zeroed counters with HELP and TYPE before anything happened, and no "last" gauges', async () => {
    const text = await createMetricsRegistry().renderPrometheus();
    expect(text).toContain('# HELP bomnipotent_backup_failures_total ');
    expect(text).toContain('# TYPE bomnipotent_backup_failures_total counter');
    expect(text).toContain('bomnipotent_backup_failures_total{trigger="scheduled"} 0\n');
    expect(text).toContain('bomnipotent_backup_success_total 0\n');
    expect(text).not.toContain('bomnipotent_backup_last_success_timestamp_seconds');
    expect(text.endsWith('\n')).toBe(true);
  });

  it('counts successes and failures and remembers the last backup', async () => {
    const registry = createMetricsRegistry();
    registry.backupSucceeded(metadata);
    registry.backupFailed('scheduled');
    registry.backupFailed('scheduled');
    registry.backupFailed('manual');
    registry.restoreSucceeded();
    registry.restoreFailed();
    const text = await registry.renderPrometheus();
    expect(text).toContain('# TYPE bomnipotent_backup_last_success_timestamp_seconds gauge');
    expect(text).toContain(
      `bomnipotent_backup_last_success_timestamp_seconds ${Date.parse(metadata.startedAt) / 1000}\n`,
    );
    expect(text).toContain('bomnipotent_backup_last_size_bytes 4096\n');
    expect(text).toContain('bomnipotent_backup_last_duration_seconds 2.5\n');
    expect(text).toContain('bomnipotent_backup_success_total 1\n');
    expect(text).toContain('bomnipotent_backup_failures_total{trigger="scheduled"} 2\n');
    expect(text).toContain('bomnipotent_backup_failures_total{trigger="manual"} 1\n');
    expect(text).toContain('bomnipotent_restore_success_total 1\n');
    expect(text).toContain('bomnipotent_restore_failures_total 1\n');
  });
});

describe('rehearsal metrics', () => {
  it('export the last passed rehearsal (only once there was one) and count failures', async () => {
    const registry = createMetricsRegistry({ processMetrics: false });
    let text = await registry.renderPrometheus();
    expect(text).toContain('bomnipotent_backup_rehearsal_failures_total 0\n');
    expect(text).not.toContain('bomnipotent_backup_last_rehearsal_success_timestamp_seconds');
    registry.rehearsalSucceeded(new Date('2026-01-11T10:31:00Z'));
    registry.rehearsalFailed();
    text = await registry.renderPrometheus();
    expect(text).toContain('bomnipotent_backup_last_rehearsal_success_timestamp_seconds 1768127460\n');
    expect(text).toContain('bomnipotent_backup_rehearsal_failures_total 1\n');
  });
});
