// The PITR part's table: recovery point percentiles, the restore to a point against the raw tools, exactness and the
// disk, each with its target from issue 21 (goals printed with PASS or MISS, not enforced).
import { aligned, mark, mb, sec, times } from './format';
import type { Exactness, PitrFigures } from './pitr-run';

export const PITR_TARGETS = {
  /** A committed transaction is in the local WAL store within 5 s (p99 under a steady writer)... */
  localRpoP99Ms: 5_000,
  /** ... and in the off-site store within 60 s. */
  offsiteRpoP99Ms: 60_000,
  /** A restore of 1 GB to a point: at most 5 minutes end to end... */
  restoreMs: 300_000,
  /** ... and at most 1.5 × the raw restore by hand of the same point. */
  restoreRatio: 1.5,
};

const triple = ([p50, p99, max]: readonly number[]) => `${sec(p50!)} / ${sec(p99!)} / ${sec(max!)}`;

const exactText = (e: Exactness) =>
  `${e.acknowledged - e.missing.length} of ${e.acknowledged} acknowledged by T there, ${e.present.length} of ${e.sentAfter} sent after T there ` +
  mark(e.missing.length === 0 && e.present.length === 0);

export function pitrVerdicts(f: PitrFigures) {
  const ratio = f.productMs / f.raw.ms;
  return {
    signed: f.rpo.signed[1] <= PITR_TARGETS.localRpoP99Ms,
    offsite: f.rpo.offsite[1] <= PITR_TARGETS.offsiteRpoP99Ms,
    ratio,
    ratioPass: ratio <= PITR_TARGETS.restoreRatio,
    timePass: f.productMs <= PITR_TARGETS.restoreMs,
    exact:
      f.exact.product.missing.length === 0 &&
      f.exact.product.present.length === 0 &&
      f.exact.product.acknowledged > 0 &&
      f.exact.product.sentAfter > 0,
    disk: f.disk.maxHeldBytes <= f.disk.capBytes,
  };
}

export function renderPitr(f: PitrFigures): string {
  const v = pitrVerdicts(f);
  const steps = Object.entries(f.raw.steps)
    .map(([k, ms]) => `${k} ${sec(ms)}`)
    .join(' / ');
  const rows = [
    ['point-in-time recovery (`--pitr`)', `${f.dataset} ${f.sizeMb} MB`],
    ['', ''],
    ['database size (pg_database_size)', mb(f.databaseBytes)],
    [
      'steady writer: commits (one every 100 ms), seal_interval, tail_interval',
      `${f.rpo.commits} in ${f.writerSeconds} s, ${sec(f.sealIntervalMs)}, ${sec(f.tailIntervalMs)}`,
    ],
    [
      'RPO local: signed (a signed tail or sealed segment covers it, restorable) p50 / p99 / max (target p99 ≤ 5 s)',
      `${triple(f.rpo.signed)} ${mark(v.signed)}`,
    ],
    [
      'for comparison: streamed (flushed by pg_receivewal; plaintext, unsigned, no restore uses it) p50 / p99 / max',
      triple(f.rpo.streamed),
    ],
    [
      'RPO off-site (manifest in the S3 store) p50 / p99 / max (target p99 ≤ 60 s)',
      `${triple(f.rpo.offsite)} ${mark(v.offsite)}`,
    ],
    [
      'restore target T (middle of the writer run); WAL segments replayed',
      `${f.target}; ${f.segmentsReplayed}`,
    ],
    ['**restore to T**: raw by hand (tar -x, recovery, createdb, pg_dump | psql)', sec(f.raw.ms)],
    ['raw steps', steps],
    [
      '**restore to T**: `completely-restore --to` (handler; target ≤ 5 min at 1 GB)',
      `${sec(f.productMs)} ${mark(v.timePass)}`,
    ],
    ['restore ratio (target ≤ 1.5×)', `${times(v.ratio)} ${mark(v.ratioPass)}`],
    ['exactness after the product restore', exactText(f.exact.product)],
    ['exactness after the raw restore', exactText(f.exact.raw)],
    [
      'disk: receiver stopped, burst: WAL written (rate) / max held by the slot / cap',
      `${mb(f.disk.burstBytes)} (${mb((f.disk.burstBytes / Math.max(1, f.disk.burstMs)) * 1000)}/s) / ${mb(f.disk.maxHeldBytes)} / ${mb(f.disk.capBytes)} ${mark(v.disk)}`,
    ],
    [
      'disk: slot released; over the cap for',
      `${f.disk.released ? 'yes' : 'no'}; ${f.disk.overCapMs === null ? 'n/a' : sec(f.disk.overCapMs)} (${f.disk.samples} samples)`,
    ],
  ];
  return aligned(rows);
}
