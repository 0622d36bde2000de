// infra/monitoring: the dashboard and the alert rules use only metrics the server exports; the rules are valid
// and the stale-backup alert fires (promtool); the compose profile mounts what Prometheus and Grafana need.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { createMetricsRegistry } from '../../runtime/observability/metrics';

const ROOT = resolve(import.meta.dirname, '../..');
const MONITORING = resolve(ROOT, 'infra/monitoring');
const read = (path: string) => readFileSync(resolve(MONITORING, path), 'utf8');

interface Panel {
  targets?: { expr: string }[];
  datasource?: { uid: string };
}
const dashboard = JSON.parse(read('grafana/dashboards/bomnipotent.json')) as { panels: Panel[]; uid: string };
const rules = parse(read('alerts.yml')) as { groups: { rules: { alert: string; expr: string }[] }[] };

const METRIC = /\b(?:bomnipotent|process|nodejs)_[a-z0-9_]+\b/g;
const FUNCTIONS = new Set(['histogram_quantile']);

const OFFSITE_METRICS = [
  'bomnipotent_offsite_newest_backup_timestamp_seconds',
  'bomnipotent_offsite_last_success_timestamp_seconds',
  'bomnipotent_offsite_failures_total',
];

function metricsIn(expressions: string[]): Set<string> {
  return new Set(expressions.flatMap((e) => e.match(METRIC) ?? []).filter((m) => !FUNCTIONS.has(m)));
}

async function exported(): Promise<Set<string>> {
  const registry = createMetricsRegistry({ backupPeriodSeconds: () => 86_400 });
  registry.backupSucceeded({ startedAt: '2026-11-30T10:00:00.000Z', sizeBytes: 1, durationMs: 1 } as never);
  registry.operationFinished('backup', 'succeeded', 3);
  registry.offsiteSucceeded(new Date());
  registry.offsiteNewest(new Date());
  registry.rehearsalSucceeded(new Date()); // registered with its first pass, like the off-site gauges
  const text = await registry.renderPrometheus();
  // Declared metrics count too: a histogram such as the GC one has samples only after its first observation.
  const declared = [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].flatMap(([, name, type]) =>
    type === 'histogram' ? [`${name}_bucket`, `${name}_sum`, `${name}_count`] : [name as string],
  );
  return new Set(declared);
}

describe('infra/monitoring', () => {
  it('the dashboard and the alert rules use only metrics the server exports', async () => {
    const names = await exported();
    const used = metricsIn([
      ...dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr)),
      ...rules.groups.flatMap((g) => g.rules.map((r) => r.expr)),
    ]);
    expect(used.size).toBeGreaterThan(10);
    for (const name of used) expect(names, `${name} is not exported`).toContain(name);
  });

  it('the dashboard shows backup age, period, size, durations, failures, memory, off-site copies and rehearsals', () => {
    const used = metricsIn(dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr)));
    for (const name of [
      'bomnipotent_backup_last_success_timestamp_seconds',
      'bomnipotent_backup_period_seconds',
      'bomnipotent_backup_last_size_bytes',
      'bomnipotent_backup_last_duration_seconds',
      'bomnipotent_operation_duration_seconds_bucket',
      'bomnipotent_backup_failures_total',
      'bomnipotent_restore_failures_total',
      'process_resident_memory_bytes',
      ...OFFSITE_METRICS,
      'bomnipotent_backup_last_rehearsal_success_timestamp_seconds',
      'bomnipotent_backup_rehearsal_failures_total',
    ])
      expect(used, name).toContain(name);
  });

  it('alerts on off-site copies: stale, never confirmed since start, failing', () => {
    const offsite = rules.groups.flatMap((g) => g.rules).filter((r) => r.alert.includes('Offsite'));
    expect(offsite.map((r) => r.alert).sort()).toEqual([
      'BomnipotentOffsiteFailing',
      'BomnipotentOffsiteNeverConfirmed',
      'BomnipotentOffsiteStale',
    ]);
    const used = metricsIn(offsite.map((r) => r.expr));
    for (const name of OFFSITE_METRICS) expect(used, name).toContain(name);
  });

  it('alerts on a failed rehearsal', () => {
    const rehearsal = rules.groups.flatMap((g) => g.rules).filter((r) => r.alert.includes('Rehearsal'));
    expect(rehearsal.map((r) => r.alert)).toEqual(['BomnipotentRehearsalFailing']);
    expect(metricsIn(rehearsal.map((r) => r.expr))).toContain('bomnipotent_backup_rehearsal_failures_total');
  });

  it('the rules are valid for promtool', () => {
    const run = spawnSync('promtool', ['check', 'rules', resolve(MONITORING, 'alerts.yml')], {
      encoding: 'utf8',
    });
    expect(run.stdout + run.stderr).toContain('SUCCESS: 9 rules found');
    expect(run.status).toBe(0);
  });

  it('the stale-backup, off-site and rehearsal alerts fire when they should, and not before (promtool test rules)', () => {
    const run = spawnSync('promtool', ['test', 'rules', resolve(MONITORING, 'tests/alerts-test.yml')], {
      encoding: 'utf8',
    });
    expect(run.stdout + run.stderr).toContain('SUCCESS');
    expect(run.status).toBe(0);
  });

  it('the compose profile provisions Prometheus with the rules and Grafana with the dashboard', () => {
    const compose = parse(readFileSync(resolve(ROOT, 'infra/compose.yaml'), 'utf8')) as {
      services: Record<string, { profiles?: string[]; volumes: string[] }>;
    };
    const prometheus = parse(read('prometheus.yml')) as {
      rule_files: string[];
      scrape_configs: { static_configs: { targets: string[] }[] }[];
    };
    for (const name of ['prometheus', 'grafana']) {
      const service = compose.services[name];
      expect(service?.profiles).toEqual(['monitoring']);
      for (const volume of service?.volumes ?? []) {
        const source = volume.split(':')[0] as string;
        if (source.startsWith('./')) expect(existsSync(resolve(ROOT, 'infra', source)), source).toBe(true);
      }
    }
    const mounts = compose.services.prometheus?.volumes.map((v) => v.split(':')[1]);
    expect(mounts).toContain(prometheus.rule_files[0]);
    expect(prometheus.scrape_configs[0]?.static_configs[0]?.targets).toEqual(['server:8080']);
    const datasource = parse(read('grafana/provisioning/datasources/prometheus.yml')) as {
      datasources: { uid: string }[];
    };
    for (const panel of dashboard.panels) expect(panel.datasource?.uid).toBe(datasource.datasources[0]?.uid);
  });
});
