// The benchmark's pure parts behind the targets: file sizes against the plain dump, the product's file found
// whatever its format, the catalog verdicts, memory flatness per dataset, and the options.
import { describe, expect, it } from 'vitest';
import { isDataFileName, pickDataFile, type DirEntry } from '../../bench/backup-file';
import { listedCount, type CatalogFigures } from '../../bench/catalog-run';
import { summarizeCatalog } from '../../bench/catalog-summary';
import { suffixOf, summarizeFileSizes } from '../../bench/file-sizes';
import { parseOptions } from '../../bench/options';
import { rssFlatness, type SizeSummary } from '../../bench/summary';
import type { StandbyFigures } from '../../bench/standby-run';
import { renderStandby, summarizeStandby } from '../../bench/standby-summary';

const MB = 1024 * 1024;

describe('summarizeFileSizes', () => {
  const rep = (productBytes: number) => ({
    plainBytes: 100 * MB,
    productBytes,
    productFile: '/b/db_20261130_120000.dump.zst',
    zstd: { ms: 900, fileBytes: 12 * MB },
    gzip: { ms: 2000, fileBytes: 27 * MB },
  });

  it('passes the documents target at 25% of plain and misses it above', () => {
    expect(summarizeFileSizes('documents', [rep(25 * MB)]).pass).toBe(true);
    const missed = summarizeFileSizes('documents', [rep(26 * MB)]);
    expect(missed.pass).toBe(false);
    expect(missed.productRatio).toBeCloseTo(0.26, 5);
  });

  it('reports the ratio without a verdict on pgbench', () => {
    const s = summarizeFileSizes('pgbench', [rep(5 * MB)]);
    expect(s.pass).toBeNull();
    expect(s.productRatio).toBeCloseTo(0.05, 5);
  });

  it('takes medians over the repetitions and puts the raw compressors against the same plain size', () => {
    const s = summarizeFileSizes('documents', [rep(20 * MB), rep(30 * MB), rep(22 * MB)]);
    expect(s.productBytes).toBe(22 * MB);
    expect(s.zstd).toEqual({ ms: 900, bytes: 12 * MB, ratio: 0.12 });
    expect(s.gzip?.ratio).toBeCloseTo(0.27, 5);
    expect(s.productSuffix).toBe('.dump.zst');
  });

  it('says so when the compressed contenders were skipped', () => {
    const { zstd, gzip, ...plain } = rep(MB);
    expect([zstd.ms, gzip.ms]).toEqual([900, 2000]);
    const s = summarizeFileSizes('documents', [plain]);
    expect(s.zstd).toBeNull();
    expect(s.gzip).toBeNull();
  });
});

describe('suffixOf', () => {
  it('is what follows the time stamp, whatever the format', () => {
    expect(suffixOf('bench_x_doc100_20261130_143000.dump')).toBe('.dump');
    expect(suffixOf('/dir/db_20261130_143000_3.dump.zst.age')).toBe('.dump.zst.age');
    expect(suffixOf('handmade.sql.gz')).toBe('.sql.gz');
  });
});

describe('pickDataFile', () => {
  const entries: DirEntry[] = [
    { name: 'db_20261130_100000.dump.zst', mtimeMs: 1, sizeBytes: 10 },
    { name: 'db_20261130_100000.dump.zst.manifest.json', mtimeMs: 5, sizeBytes: 1 },
    { name: 'db_20261130_110000.dump.zst', mtimeMs: 3, sizeBytes: 20 },
    { name: 'audit.log.jsonl', mtimeMs: 9, sizeBytes: 1 },
    { name: 'db_20261130_120000.dump.zst.partial', mtimeMs: 8, sizeBytes: 2 },
  ];

  it('takes the file the answer names, in whatever field and form', () => {
    expect(pickDataFile({ path: '/x/db_20261130_100000.dump.zst' }, entries)?.sizeBytes).toBe(10);
    expect(pickDataFile({ entry: { file: 'db_20261130_100000.dump.zst' } }, entries)?.sizeBytes).toBe(10);
  });

  it('falls back to the newest data file, never a manifest, log or unfinished file', () => {
    expect(pickDataFile({ ok: true }, entries)?.name).toBe('db_20261130_110000.dump.zst');
    expect(pickDataFile({ path: '/x/db_20261130_100000.dump.zst.manifest.json' }, entries)?.name).toBe(
      'db_20261130_110000.dump.zst',
    );
    expect(pickDataFile({}, entries.slice(3))).toBeNull();
  });

  it('tells data files from their companions', () => {
    expect(['a.dump', 'a.dump.zst', 'a.dump.gz.age'].every(isDataFileName)).toBe(true);
    expect(
      ['a.dump.meta.json', 'a.manifest.json', 'audit.log.jsonl', 'key.pem', '.hidden'].some(isDataFileName),
    ).toBe(false);
  });
});

describe('summarizeCatalog', () => {
  const figures = (over: Partial<CatalogFigures> = {}): CatalogFigures => ({
    dataset: 'documents',
    sizeMb: 100,
    backups: 14,
    totalBytes: 14 * 10 * MB,
    createMs: [1000, 1100, 1200],
    listClientMs: [400, 420, 410],
    listHttpMs: [150, 199, 180],
    listedEntries: 14,
    io: {
      firstBackup: { rchar: 200 * MB, readBytes: 0 },
      withCatalog: { rchar: 204 * MB, readBytes: 0 },
      backupFileBytes: 10 * MB,
    },
    ...over,
  });

  it('checks list against 200 ms on the server answer (the median)', () => {
    expect(summarizeCatalog(figures()).listPass).toBe(true);
    expect(summarizeCatalog(figures()).listHttpMs).toBe(180);
    expect(summarizeCatalog(figures({ listHttpMs: [200, 250, 100] })).listPass).toBe(false);
  });

  it('calls a backup run that reads half a dump or more beyond an empty run one that reads existing dumps', () => {
    const quiet = summarizeCatalog(figures());
    expect(quiet.extraReadBytes).toBe(4 * MB);
    expect(quiet.readsExistingDumps).toBe(false);
    const reading = figures();
    reading.io.withCatalog.rchar = 200 * MB + 5 * MB;
    expect(summarizeCatalog(reading).readsExistingDumps).toBe(true);
    expect(summarizeCatalog(figures()).createMsLast).toBe(1200);
  });
});

describe('listedCount', () => {
  it('counts the backups of a list answer, whatever else the answer carries', () => {
    expect(listedCount({ backups: [1, 2, 3] })).toBe(3);
    expect(listedCount({ missing: [9], backups: [1, 2] })).toBe(2);
    expect(listedCount({ missing: [9], entries: [1, 2, 3, 4] })).toBe(4);
    expect(listedCount([1])).toBe(1);
    expect(listedCount({ message: 'none' })).toBe(0);
  });
});

describe('rssFlatness', () => {
  const size = (dataset: 'pgbench' | 'documents', sizeMb: number, peakMb: number) =>
    ({
      dataset,
      sizeMb,
      databaseBytes: sizeMb * MB,
      serverRss: { maxPeakBytes: peakMb * MB },
    }) as SizeSummary;

  it('compares sizes within a dataset, never across datasets', () => {
    const flat = rssFlatness([
      size('pgbench', 100, 100),
      size('pgbench', 500, 110),
      size('documents', 100, 160),
    ]);
    expect(flat).toEqual([{ dataset: 'pgbench', largestSizeMb: 500, growthBytes: 10 * MB, pass: true }]);
    expect(rssFlatness([size('documents', 100, 100), size('documents', 1000, 120)])[0]?.pass).toBe(false);
  });
});

describe('summarizeStandby', () => {
  const load = (p50Ms: number) => ({
    requests: 10,
    ok: 10,
    failures: {},
    seconds: 1,
    rps: 10,
    p50Ms,
    p99Ms: p50Ms * 2,
    maxMs: p50Ms * 3,
  });
  const figures = (ms: number, writesRefusedMs: number, unavailableMs: number, fromStandby = true) =>
    ({
      rehearsal: { wallMs: 20_000, recordedMs: 18_000, tables: 3, rows: 1000, standbyBytes: 200 * MB },
      latency: { idle: load(1), duringRehearsal: load(4) },
      restore: { ms, fromStandby, probes: { writesRefusedMs, unavailableMs } },
    }) as unknown as StandbyFigures;

  it('checks the restore from the standby against 0.10× raw, 1 s of refused writes and 100 ms without reads', () => {
    const s = summarizeStandby('documents', 1000, figures(1_600, 400, 60), 20_000);
    expect([s.ratio, s.pass]).toEqual([0.08, { ratio: true, writes: true, reads: true }]);
    const slow = summarizeStandby('documents', 1000, figures(2_500, 1_200, 150), 20_000);
    expect(slow.pass).toEqual({ ratio: false, writes: false, reads: false });
    expect(renderStandby([s, null])).toMatch(/ratio \(target ≤ 0\.10×\) +\| 0\.08× PASS/);
  });

  it('never passes the ratio when the server loaded the file instead of the standby', () => {
    const s = summarizeStandby('documents', 1000, figures(1_000, 400, 60, false), 20_000);
    expect(s.pass.ratio).toBe(false);
    expect(renderStandby([s])).toContain('standby not used');
  });
});

describe('parseOptions', () => {
  it('runs both datasets, the compressed contenders and the catalog by default', () => {
    const o = parseOptions([], {}, '/r');
    expect(o !== 'help' && [o.datasets, o.compressed, o.catalog, o.standby]).toEqual([
      ['pgbench', 'documents'],
      true,
      true,
      true,
    ]);
    const off = parseOptions(['--no-standby'], {}, '/r');
    expect(off !== 'help' && off.standby).toBe(false);
  });

  it('takes a dataset list from the flag or the environment and refuses unknown names', () => {
    const o = parseOptions(['--datasets', 'documents', '--no-catalog'], { BENCH_COMPRESSED: '0' }, '/r');
    expect(o !== 'help' && [o.datasets, o.compressed, o.catalog]).toEqual([['documents'], false, false]);
    const e = parseOptions([], { BENCH_DATASETS: 'pgbench' }, '/r');
    expect(e !== 'help' && e.datasets).toEqual(['pgbench']);
    expect(() => parseOptions(['--datasets', 'tpcc'], {}, '/r')).toThrow(
      /pgbench and\/or documents, not "tpcc"/,
    );
  });

  it('measures a cluster of its own with default settings unless told to use the shared one', () => {
    const o = parseOptions([], {}, '/r');
    expect(o !== 'help' && o.cluster).toBe('defaults');
    const shared = parseOptions([], { BENCH_CLUSTER: 'shared' }, '/r');
    expect(shared !== 'help' && shared.cluster).toBe('shared');
    expect(() => parseOptions(['--cluster', 'tuned'], {}, '/r')).toThrow(/defaults or shared, not "tuned"/);
  });
});
