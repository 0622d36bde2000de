// The printed table (aligned Markdown, so that it can go into docs/benchmarks.md as it is) and the JSON file.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CATALOG_TARGETS } from './catalog-summary';
import { FILE_SIZE_TARGET, type Packed } from './file-sizes';
import { rssFlatness, TARGETS, type SizeSummary } from './summary';
import { aligned, MB, mark, mb, msText, sec, times } from './format';

const faster = (r: number) =>
  !Number.isFinite(r)
    ? 'n/a'
    : r <= 1
      ? `${((1 - r) * 100).toFixed(0)}% faster`
      : `${((r - 1) * 100).toFixed(0)}% slower`;
const rate = (l: { rps: number; p50Ms: number; p99Ms: number; failures: number }) =>
  `${Math.round(l.rps)}/s, p50 ${l.p50Ms.toFixed(1)} ms, p99 ${l.p99Ms.toFixed(1)} ms${l.failures ? `, ${l.failures} failed` : ''}`;

const pct = (r: number) => (Number.isFinite(r) ? `${(r * 100).toFixed(1)}%` : 'n/a');
const packedCell = (p: Packed | null) => (p ? `${sec(p.ms)}, ${mb(p.bytes)} (${pct(p.ratio)})` : 'skipped');

type Row = [label: string, cell: (s: SizeSummary) => string];

const ROWS: Row[] = [
  ['programs started from (server / client)', (s) => `${s.entries.server} / ${s.entries.client}`],
  ['database size (pg_database_size)', (s) => mb(s.databaseBytes)],
  ['plain dump file (raw `pg_dump -Fp`)', (s) => mb(s.fileSizes.plainBytes)],
  ['product backup file', (s) => `${mb(s.fileSizes.productBytes)} (${s.fileSizes.productSuffix || '?'})`],
  [
    `file size: product ÷ plain (target ≤ ${FILE_SIZE_TARGET.ratio * 100}% on ${FILE_SIZE_TARGET.dataset})`,
    (s) =>
      `${pct(s.fileSizes.productRatio)} ${s.fileSizes.pass === null ? '(no target)' : mark(s.fileSizes.pass)}`,
  ],
  ['raw `pg_dump -Fp | zstd -1`: time, file (÷ plain)', (s) => packedCell(s.fileSizes.zstd)],
  ['raw `pg_dump -Fp | gzip -1`: time, file (÷ plain)', (s) => packedCell(s.fileSizes.gzip)],
  ['**create**: raw `pg_dump -Fp -f`', (s) => sec(s.create.rawMs)],
  ['**create**: `database-backup create`', (s) => sec(s.create.productMs)],
  [
    `create ratio (target ≤ ${TARGETS.createRatio.toFixed(2)}×)`,
    (s) => `${times(s.create.ratio)} ${mark(s.create.pass)}`,
  ],
  ['**restore**: raw `dropdb; createdb; psql -f`', (s) => sec(s.restore.rawMs)],
  ['**restore**: `database-backup completely-restore`', (s) => sec(s.restore.productMs)],
  [
    `restore ratio (target ≤ ${TARGETS.restoreRatio.toFixed(2)}×)`,
    (s) => `${times(s.restore.ratio)} ${mark(s.restore.pass)}`,
  ],
  ['server RSS idle', (s) => mb(s.serverRss.idleBytes)],
  ['server peak RSS during create', (s) => mb(s.serverRss.createPeakBytes)],
  ['server peak RSS during restore', (s) => mb(s.serverRss.restorePeakBytes)],
  [
    `server peak RSS, highest of all reps (target < ${TARGETS.serverRssBytes / MB} MB)`,
    (s) => `${mb(s.serverRss.maxPeakBytes)} ${mark(s.serverRss.pass)}`,
  ],
  ['server VmHWM, highest', (s) => mb(s.serverRss.maxHwmBytes)],
  ['server peak RSS during the load tests', (s) => mb(s.serverRss.loadPeakBytes)],
  [
    'children of the server (pg_dump / psql) peak RSS',
    (s) => `${mb(s.childrenRss.productDumpBytes)} / ${mb(s.childrenRss.productRestoreBytes)}`,
  ],
  [
    `503 window during restore (target < ${TARGETS.unavailableMs / 1000} s)`,
    (s) =>
      `${msText(s.downtime.unavailableMs)} (max ${msText(s.downtime.unavailableMaxMs)}) ${mark(s.downtime.pass)}`,
  ],
  ['writes refused (read-only phase + swap)', (s) => sec(s.downtime.writesRefusedMs)],
  ['slowest GET answer during restore', (s) => msText(s.downtime.maxReadLatencyMs)],
  [
    'restore phases: before / scratch / swap / after',
    (s) =>
      [
        s.restorePhases.beforeScratchMs,
        s.restorePhases.scratchMs,
        s.restorePhases.swapMs,
        s.restorePhases.afterSwapMs,
      ]
        .map(sec)
        .join(' / '),
  ],
  [
    'restore, server side: verify / scratch+swap+migrate / drop old',
    (s) =>
      [
        s.diagnostics.restoreServer.verifyMs,
        s.diagnostics.restoreServer.restoreAndSwapMs,
        s.diagnostics.restoreServer.dropOldMs,
      ]
        .map(sec)
        .join(' / '),
  ],
  ['restore, outside the server (client process, HTTP)', (s) => sec(s.diagnostics.restoreOutsideServerMs)],
  [
    'raw restore steps: dropdb / createdb / psql',
    (s) => Object.values(s.diagnostics.rawRestoreSteps).map(sec).join(' / '),
  ],
  [
    'client `health` wall clock: bin entry / esbuild bundle',
    (s) =>
      `${msText(s.diagnostics.clientStartupMs)} / ${msText(s.diagnostics.bundledClientStartupMs ?? Number.NaN)}`,
  ],
  [
    'ratios with a bundled client (estimate): create / restore',
    (s) =>
      `${times(s.diagnostics.createRatioBundled ?? Number.NaN)} / ${times(s.diagnostics.restoreRatioBundled ?? Number.NaN)}`,
  ],
  ['create, server side (log: Starting → Stored)', (s) => sec(s.diagnostics.createServerMs)],
  ['create, outside the server (client process, HTTP)', (s) => sec(s.diagnostics.createOutsideServerMs)],
  ['server dump phase (pg_dump + hash + fsync + check)', (s) => sec(s.diagnostics.productDumpPhaseMs)],
  ['full verify of the new dump (re-read + SHA-256), timed apart', (s) => sec(s.diagnostics.verifyMs)],
  ['fsync of the raw dump, timed apart', (s) => msText(s.diagnostics.rawFsyncMs)],
  [
    'archive: raw `pg_dump -Fc`',
    (s) => (s.archive ? `${sec(s.archive.dumpMs)} (${faster(s.archive.dumpVsPlain)})` : 'skipped'),
  ],
  [
    'archive: raw `dropdb; createdb; pg_restore -j 2`',
    (s) => (s.archive ? `${sec(s.archive.restoreMs)} (${faster(s.archive.restoreVsPlain)})` : 'skipped'),
  ],
  ['archive file', (s) => (s.archive ? mb(s.archive.fileBytes) : 'skipped')],
  ['GET /health (unauthenticated)', (s) => (s.load ? rate(s.load.health) : 'skipped')],
  ['GET /who-am-i (signed, fresh signature each)', (s) => (s.load ? rate(s.load.whoAmI) : 'skipped')],
];

export function renderTable(sizes: SizeSummary[]): string {
  const header = ['', ...sizes.map((s) => `${s.dataset} ${s.sizeMb} MB (${s.reps} reps)`)];
  const body = ROWS.map(([label, cell]) => [label, ...sizes.map(cell)]);
  const flat = rssFlatness(sizes);
  if (flat.length) {
    body.push([
      `server peak RSS growth, smallest → largest (target ≤ ${TARGETS.rssGrowthBytes / MB} MB)`,
      ...sizes.map((s) => {
        const f = flat.find((x) => x.dataset === s.dataset && x.largestSizeMb === s.sizeMb);
        return f ? `${mb(f.growthBytes)} ${mark(f.pass)}` : '';
      }),
    ]);
  }
  return aligned([header, header.map(() => '---'), ...body]);
}

/** The catalog figures (measured once, at the largest size), as a two-column table; null when not measured. */
export function renderCatalog(sizes: SizeSummary[]): string | null {
  const c = sizes.find((s) => s.catalog)?.catalog;
  if (!c) return null;
  const rows: string[][] = [
    [`catalog: ${c.backups} backups of ${c.dataset} ${c.sizeMb} MB, made by the product`, ''],
    ['---', ''],
    ['backups listed / their files together', `${c.listedEntries} / ${mb(c.totalBytes)}`],
    [
      `\`list\`, server answer (signed GET /database-backup; target < ${CATALOG_TARGETS.listMs} ms)`,
      `${msText(c.listHttpMs)} ${mark(c.listPass)}`,
    ],
    ['`list`, client wall clock (process start-up included)', msText(c.listClientMs)],
    [
      'backup run with the catalog full: more read than into an empty directory (target: no existing dump)',
      `${mb(c.extraReadBytes)} (disk ${mb(c.extraDiskReadBytes)}; one backup ${mb(c.backupFileBytes)}) ` +
        mark(!c.readsExistingDumps),
    ],
    [
      'create: first (empty directory) / last (catalog full)',
      `${sec(c.createMsFirst)} / ${sec(c.createMsLast)}`,
    ],
  ];
  return aligned(rows);
}

export function writeResults(dir: string, startedAt: Date, data: unknown): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(path, JSON.stringify(data, null, 2) + '\n');
  return path;
}
