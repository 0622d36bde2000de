// The rehearsed standby against issue 14's targets: `completely-restore` of the rehearsed backup at most 0.10× raw
// dropdb + createdb + psql, writes refused for at most 1 s and reads unavailable for at most 100 ms during it.
import { aligned, mark, mb, msText, sec, times } from './format';
import { ratio } from './stats';
import type { StandbyFigures } from './standby-run';

export const STANDBY_TARGETS = { restoreRatio: 0.1, writesRefusedMs: 1000, unavailableMs: 100 };

export interface StandbySummary {
  dataset: string;
  sizeMb: number;
  fromStandby: boolean;
  restoreMs: number;
  /** The same repetitions' median raw dropdb + createdb + psql. */
  rawRestoreMs: number;
  ratio: number;
  writesRefusedMs: number;
  unavailableMs: number;
  rehearsalMs: number;
  rehearsalRecordedMs: number;
  rows: number;
  standbyBytes: number;
  /** 'off', or how long after the rehearsal autovacuum visited the standby (before the restore), or 'not seen'. */
  autovacuum: string;
  latency: { idleP50: number; idleP99: number; duringP50: number; duringP99: number; duringFailures: number };
  pass: { ratio: boolean; writes: boolean; reads: boolean };
}

export function summarizeStandby(
  dataset: string,
  sizeMb: number,
  f: StandbyFigures,
  rawRestoreMs: number,
): StandbySummary {
  const { probes } = f.restore;
  const r = ratio(f.restore.ms, rawRestoreMs);
  return {
    dataset,
    sizeMb,
    fromStandby: f.restore.fromStandby,
    restoreMs: f.restore.ms,
    rawRestoreMs,
    ratio: r,
    writesRefusedMs: probes.writesRefusedMs,
    unavailableMs: probes.unavailableMs,
    rehearsalMs: f.rehearsal.wallMs,
    rehearsalRecordedMs: f.rehearsal.recordedMs,
    rows: f.rehearsal.rows,
    standbyBytes: f.rehearsal.standbyBytes,
    autovacuum:
      f.autovacuumVisitMs === undefined
        ? 'off'
        : f.autovacuumVisitMs === null
          ? 'on, no visit seen in 4 min'
          : `on, visited ${sec(f.autovacuumVisitMs)} after the rehearsal`,
    latency: {
      idleP50: f.latency.idle.p50Ms,
      idleP99: f.latency.idle.p99Ms,
      duringP50: f.latency.duringRehearsal.p50Ms,
      duringP99: f.latency.duringRehearsal.p99Ms,
      duringFailures: Object.values(f.latency.duringRehearsal.failures).reduce((a, b) => a + b, 0),
    },
    pass: {
      ratio: f.restore.fromStandby && r <= STANDBY_TARGETS.restoreRatio,
      writes: probes.writesRefusedMs <= STANDBY_TARGETS.writesRefusedMs,
      reads: probes.unavailableMs <= STANDBY_TARGETS.unavailableMs,
    },
  };
}

/** One column per size measured; null when no size was. */
export function renderStandby(sizes: (StandbySummary | null)[]): string | null {
  const s = sizes.filter((x): x is StandbySummary => x !== null);
  if (s.length === 0) return null;
  const row = (label: string, cell: (x: StandbySummary) => string) => [label, ...s.map(cell)];
  return aligned([
    ['rehearsed standby (`rehearse = true`)', ...s.map((x) => `${x.dataset} ${x.sizeMb} MB`)],
    ['---', ...s.map(() => '---')],
    row('rehearsal: wall clock after create / recorded; rows', (x) => {
      return `${sec(x.rehearsalMs)} / ${sec(x.rehearsalRecordedMs)}; ${x.rows}`;
    }),
    row('standby database size', (x) => mb(x.standbyBytes)),
    row('autovacuum before the restore', (x) => x.autovacuum),
    row(
      'signed GET /who-am-i p50 / p99: idle',
      (x) => `${x.latency.idleP50.toFixed(1)} / ${x.latency.idleP99.toFixed(1)} ms`,
    ),
    row(
      'signed GET /who-am-i p50 / p99: while rehearsing',
      (x) =>
        `${x.latency.duringP50.toFixed(1)} / ${x.latency.duringP99.toFixed(1)} ms${x.latency.duringFailures ? `, ${x.latency.duringFailures} failed` : ''}`,
    ),
    row(
      '**restore** from the standby: `completely-restore`',
      (x) => `${sec(x.restoreMs)}${x.fromStandby ? '' : ' (loaded the file: standby not used)'}`,
    ),
    row('raw `dropdb; createdb; psql -f` (median of the reps)', (x) => sec(x.rawRestoreMs)),
    row(
      `ratio (target ≤ ${STANDBY_TARGETS.restoreRatio.toFixed(2)}×)`,
      (x) => `${times(x.ratio)} ${mark(x.pass.ratio)}`,
    ),
    row(
      `writes refused (target ≤ ${STANDBY_TARGETS.writesRefusedMs} ms)`,
      (x) => `${msText(x.writesRefusedMs)} ${mark(x.pass.writes)}`,
    ),
    row(
      `reads unavailable (target ≤ ${STANDBY_TARGETS.unavailableMs} ms)`,
      (x) => `${msText(x.unavailableMs)} ${mark(x.pass.reads)}`,
    ),
  ]);
}
