// The benchmark's options: command-line flags first, then BENCH_* environment variables, then the defaults.
import { parseArgs } from 'node:util';

export const DATASETS = ['pgbench', 'documents'] as const;
export const CLUSTERS = ['defaults', 'shared'] as const;
export type ClusterKind = (typeof CLUSTERS)[number];
export type Dataset = (typeof DATASETS)[number];

export interface BenchOptions {
  /** Nominal database sizes in MB; pgbench's scale is derived from each. */
  sizesMb: number[];
  /** pgbench's tables, and/or JSON documents shaped like CycloneDX SBOMs and CSAF advisories. */
  datasets: Dataset[];
  /** Measure `pg_dump -Fp | zstd -1` and `| gzip -1` next to the plain dump. */
  compressed: boolean;
  /** 14 backups of the largest size: the time of `list`, and whether a backup run reads the existing dumps. */
  catalog: boolean;
  /** At every size: a rehearsal, latency while it runs, and the restore that swaps the rehearsed standby in. */
  standby: boolean;
  reps: number;
  /** Requests per load test and its time bound, whichever comes first. */
  loadRequests: number;
  loadSeconds: number;
  concurrency: number;
  /** Measure pg_dump -Fc + pg_restore -j 2 next to the plain path. */
  archive: boolean;
  load: boolean;
  probeIntervalMs: number;
  rssIntervalMs: number;
  resultsDir: string;
  /**
   * `defaults`: a PostgreSQL cluster of the bench's own with PostgreSQL's default settings (autovacuum on), as users
   * run it; `shared`: the server at PGHOST/PGPORT as it is configured (the CI machine's turns autovacuum off).
   */
  cluster: ClusterKind;
  /** Point-in-time recovery (issue 21): `on` after the sizes, `only` instead of them, at the largest size. */
  pitr: 'off' | 'on' | 'only';
  /** How long the steady writer of the PITR part runs, its seal_interval, and the disk part's max_held_wal. */
  pitrSeconds: number;
  pitrSealSeconds: number;
  pitrTailSeconds: number;
  pitrCapMb: number;
}

export const USAGE = `Usage: npm run bench -- [--sizes 100,500,1000] [--datasets pgbench,documents] [--reps 3]
                       [--requests 5000] [--seconds 10] [--concurrency 8] [--no-archive] [--no-load]
                       [--no-compressed] [--no-catalog] [--no-standby] [--cluster defaults|shared]
                       [--pitr | --pitr-only]

  --sizes MB,...     nominal database sizes in MB (pgbench scale = MB x 0.068)   env BENCH_SIZES
  --datasets A,B     pgbench and/or documents (SBOM/CSAF JSON rows)              env BENCH_DATASETS
  --reps N           repetitions per size; the median counts                     env BENCH_REPS
  --requests N       requests per load test (bounded by --seconds too)           env BENCH_LOAD_REQUESTS
  --seconds S        time bound of one load test                                 env BENCH_LOAD_SECONDS
  --concurrency N    concurrent workers of the load generator                    env BENCH_CONCURRENCY
  --no-archive       skip the pg_dump -Fc + pg_restore -j 2 comparison           env BENCH_ARCHIVE=0
  --no-load          skip the requests-per-second tests                          env BENCH_LOAD=0
  --no-compressed    skip the pg_dump -Fp | zstd -1 and | gzip -1 contenders     env BENCH_COMPRESSED=0
  --no-catalog       skip list with 14 backups of the largest size               env BENCH_CATALOG=0
  --no-standby       skip the rehearsal and the restore from the rehearsed standby  env BENCH_STANDBY=0
  --cluster KIND     defaults: a cluster of the bench's own, started with initdb and  env BENCH_CLUSTER
                     PostgreSQL's default settings (autovacuum on; the default);
                     shared: the PostgreSQL at PGHOST/PGPORT as it is configured
  --pitr             also measure point-in-time recovery at the largest size     env BENCH_PITR=1
                     (recovery point, restore to a point vs raw, exactness, disk)
  --pitr-only        measure only that (no backup/restore sizes)                 env BENCH_PITR=only
                     BENCH_PITR_SECONDS (150) writer, BENCH_PITR_SEAL_S (30) seal_interval,
                     BENCH_PITR_TAIL_S (4) tail_interval,
                     BENCH_PITR_CAP_MB (64) max_held_wal of the disk part

With --cluster defaults it needs initdb and pg_ctl of the machine's PostgreSQL (/usr/lib/postgresql/<major>/bin);
with --cluster shared, PostgreSQL at 127.0.0.1:5432 (role root, trust auth; PGHOST/PGPORT/PGUSER override). Both
need pgbench, pg_dump, psql, createdb, dropdb, pg_restore on PATH. Results: a table on stdout and bench/results/<timestamp>.json.`;

function positiveInt(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value <= 0)
    throw new Error(`${name} must be a positive integer, not "${text}".`);
  return value;
}

function sizeList(text: string | undefined): number[] {
  if (text === undefined || text.trim() === '') return [100, 500, 1000];
  return text.split(',').map((part) => positiveInt('--sizes', part.trim(), 0));
}

function datasetList(text: string | undefined): Dataset[] {
  if (text === undefined || text.trim() === '') return [...DATASETS];
  const names = text.split(',').map((part) => part.trim());
  for (const name of names)
    if (!(DATASETS as readonly string[]).includes(name))
      throw new Error(`--datasets takes ${DATASETS.join(' and/or ')}, not "${name}".`);
  return [...new Set(names)] as Dataset[];
}

function flag(text: string | undefined, fallback: boolean): boolean {
  if (text === undefined || text === '') return fallback;
  return !['0', 'false', 'no', 'off'].includes(text.toLowerCase());
}

export function parseOptions(
  argv: string[],
  env: NodeJS.ProcessEnv,
  resultsDir: string,
): BenchOptions | 'help' {
  const { values } = parseArgs({
    args: argv,
    options: {
      sizes: { type: 'string' },
      reps: { type: 'string' },
      requests: { type: 'string' },
      seconds: { type: 'string' },
      concurrency: { type: 'string' },
      'no-archive': { type: 'boolean' },
      'no-load': { type: 'boolean' },
      datasets: { type: 'string' },
      'no-compressed': { type: 'boolean' },
      'no-catalog': { type: 'boolean' },
      'no-standby': { type: 'boolean' },
      cluster: { type: 'string' },
      pitr: { type: 'boolean' },
      'pitr-only': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) return 'help';
  return {
    sizesMb: sizeList(values.sizes ?? env.BENCH_SIZES),
    datasets: datasetList(values.datasets ?? env.BENCH_DATASETS),
    compressed: values['no-compressed'] ? false : flag(env.BENCH_COMPRESSED, true),
    catalog: values['no-catalog'] ? false : flag(env.BENCH_CATALOG, true),
    standby: values['no-standby'] ? false : flag(env.BENCH_STANDBY, true),
    reps: positiveInt('--reps', values.reps ?? env.BENCH_REPS, 3),
    loadRequests: positiveInt('--requests', values.requests ?? env.BENCH_LOAD_REQUESTS, 5000),
    loadSeconds: positiveInt('--seconds', values.seconds ?? env.BENCH_LOAD_SECONDS, 10),
    concurrency: positiveInt('--concurrency', values.concurrency ?? env.BENCH_CONCURRENCY, 8),
    archive: values['no-archive'] ? false : flag(env.BENCH_ARCHIVE, true),
    load: values['no-load'] ? false : flag(env.BENCH_LOAD, true),
    probeIntervalMs: positiveInt('BENCH_PROBE_MS', env.BENCH_PROBE_MS, 5),
    rssIntervalMs: positiveInt('BENCH_RSS_MS', env.BENCH_RSS_MS, 20),
    resultsDir,
    cluster: clusterKind(values.cluster ?? env.BENCH_CLUSTER),
    pitr: values['pitr-only']
      ? 'only'
      : values.pitr
        ? 'on'
        : env.BENCH_PITR === 'only'
          ? 'only'
          : flag(env.BENCH_PITR, false)
            ? 'on'
            : 'off',
    pitrSeconds: positiveInt('BENCH_PITR_SECONDS', env.BENCH_PITR_SECONDS, 150),
    pitrSealSeconds: positiveInt('BENCH_PITR_SEAL_S', env.BENCH_PITR_SEAL_S, 30),
    pitrTailSeconds: positiveInt('BENCH_PITR_TAIL_S', env.BENCH_PITR_TAIL_S, 4),
    pitrCapMb: positiveInt('BENCH_PITR_CAP_MB', env.BENCH_PITR_CAP_MB, 64),
  };
}

function clusterKind(text: string | undefined): ClusterKind {
  if (text === undefined || text.trim() === '') return 'defaults';
  if (!(CLUSTERS as readonly string[]).includes(text.trim()))
    throw new Error(`--cluster takes ${CLUSTERS.join(' or ')}, not "${text}".`);
  return text.trim() as ClusterKind;
}

/** pgbench scale for a nominal size: scale 1 is about 15 MB on disk, so 100 MB -> 7, 500 -> 34, 1000 -> 68. */
export function scaleFor(sizeMb: number): number {
  return Math.max(1, Math.round(sizeMb * 0.068));
}
