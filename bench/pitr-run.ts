// The point-in-time recovery part (--pitr, issue 21): on one database of the bench's cluster with the product's
// continuous capture on, side by side in one run: the recovery point under a steady writer (local and off-site), a
// restore to a point inside the window through the product's handler against the same point by hand with the raw
// tools, whether each restore holds exactly the commits acknowledged by the target, and the WAL held back by the
// slot while the receiver is stopped during a write burst.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { restoreToPoint } from '../handlers/pitr/restore-to-point';
import { systemClock } from '../runtime/observability/system-clock';
import { createRealContext, migrateToLatest } from '../tests/support/restore-real';
import { createPgbenchDatabase, databaseBytes, databaseUrl, query, settle } from './databases';
import { createDocumentDatabase } from './documents/load';
import type { BenchOptions, Dataset } from './options';
import { scaleFor } from './options';
import { measureDisk, type DiskFigures } from './pitr-disk';
import { rawBaseBackup, rawFolder, rawPointRestore, rawWalArchive, type RawPointRestore } from './pitr-raw';
import { measureRpo, summarizeRpo, type Commit, type RpoFigures } from './pitr-rpo';
import { startPitrBench, type PitrBench } from './pitr-setup';

const MB = 2 ** 20;

export interface Exactness {
  acknowledged: number;
  missing: number[];
  sentAfter: number;
  present: number[];
}

export interface PitrFigures {
  dataset: Dataset;
  sizeMb: number;
  databaseBytes: number;
  sealIntervalMs: number;
  tailIntervalMs: number;
  writerSeconds: number;
  target: string;
  segmentsReplayed: number;
  rpo: RpoFigures;
  raw: RawPointRestore;
  productMs: number;
  exact: { product: Exactness; raw: Exactness };
  disk: DiskFigures;
  log: string[];
}

export interface PitrContext {
  options: BenchOptions;
  prefix: string;
  workDir: string;
  repo: string;
  dataset: Dataset;
  sizeMb: number;
}

async function exactness(url: string, commits: readonly Commit[], at: number): Promise<Exactness> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: number }>('SELECT n FROM bench_pitr_writes');
    const there = new Set(rows.map((r) => r.n));
    const acknowledged = commits.filter((c) => c.ackAt <= at).map((c) => c.n);
    const after = commits.filter((c) => c.sentAt > at).map((c) => c.n);
    return {
      acknowledged: acknowledged.length,
      missing: acknowledged.filter((n) => !there.has(n)),
      sentAfter: after.length,
      present: after.filter((n) => there.has(n)),
    };
  } finally {
    await client.end();
  }
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms: number): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`[bench] pitr: ${what} did not happen within ${ms / 1000} s`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** Data, the app's schema, the writer's table; the capture and its first base backup; the raw base beside it. */
async function prepare(ctx: PitrContext, name: string, rawRoot: string) {
  const o = ctx.options;
  if (ctx.dataset === 'documents') await createDocumentDatabase(name, ctx.sizeMb, ctx.repo);
  else await createPgbenchDatabase(name, scaleFor(ctx.sizeMb));
  const url = databaseUrl(name);
  const real = createRealContext({ url, directory: join(ctx.workDir, 'pitr') });
  await migrateToLatest(real);
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  await c.query('CREATE TABLE bench_pitr_writes (n int PRIMARY KEY)');
  await c.end();
  const bench = await startPitrBench(url, join(ctx.workDir, 'pitr'), {
    sealIntervalMs: o.pitrSealSeconds * 1000,
    tailIntervalMs: o.pitrTailSeconds * 1000,
    maxHeldWalBytes: 2 * 1024 * MB, // the product's default; the disk part restarts with its own cap
  });
  await until(
    'the first base backup',
    async () => ((await bench.catalog()).window ? true : undefined),
    3_600_000,
  );
  await rawBaseBackup(rawRoot);
  return { url, real, bench };
}

export async function runPitr(ctx: PitrContext): Promise<PitrFigures> {
  const o = ctx.options;
  const name = `${ctx.prefix}pitr`;
  const rawRoot = rawFolder();
  let bench: PitrBench | undefined;
  let close = async () => {};
  try {
    const p = await prepare(ctx, name, rawRoot);
    bench = p.bench;
    close = () => p.real.close();
    process.stdout.write(`[bench] pitr: capture on, base backup taken; the writer runs ${o.pitrSeconds} s\n`);
    const commits = await measureRpo(p.url, bench, {
      seconds: o.pitrSeconds,
      everyMs: 100,
      settleMs: 2 * o.pitrSealSeconds * 1000 + 120_000,
    });
    process.stdout.write(`[bench] pitr: recovery point ${JSON.stringify(summarizeRpo(commits))}\n`);
    // Between the acknowledgement of the middle commit and the sending of the next one.
    const k = Math.floor(commits.length / 2);
    const at = Math.floor((commits[k - 1]!.ackAt + commits[k]!.sentAt) / 2);
    const target = new Date(at).toISOString();
    await rawWalArchive(rawRoot, bench);
    const major = Math.floor(
      Number((await query<{ v: string }>("SELECT current_setting('server_version_num') AS v"))[0]!.v) / 10000,
    );
    await settle();
    process.stdout.write(`[bench] pitr: raw restore to ${target}\n`);
    const raw = await rawPointRestore(rawRoot, { major, database: name, target, into: `${name}_raw` });
    await settle();
    process.stdout.write(`[bench] pitr: product restore to ${target}\n`);
    p.real.settings = { ...p.real.settings, continuous: bench.settings.continuous };
    p.real.pitr = { dbUrl: p.url, logger: p.real.ctx.logger, clock: systemClock() };
    const started = performance.now();
    const result = await restoreToPoint({ user: 'bench@example.com', to: target }, p.real.ctx);
    const productMs = performance.now() - started;
    const exact = {
      product: await exactness(p.url, commits, at),
      raw: await exactness(databaseUrl(`${name}_raw`), commits, at),
    };
    process.stdout.write(`[bench] pitr: disk, receiver stopped, cap ${o.pitrCapMb} MB\n`);
    const disk = await measureDisk(p.url, bench, o.pitrCapMb * MB);
    return {
      dataset: ctx.dataset,
      sizeMb: ctx.sizeMb,
      databaseBytes: await databaseBytes(name),
      sealIntervalMs: o.pitrSealSeconds * 1000,
      tailIntervalMs: o.pitrTailSeconds * 1000,
      writerSeconds: o.pitrSeconds,
      target,
      segmentsReplayed: result.segments ?? 0,
      rpo: summarizeRpo(commits),
      raw,
      productMs,
      exact,
      disk,
      log: [...bench.logger.lines, ...p.real.logs].slice(-200),
    };
  } finally {
    await bench?.stop().catch(() => {});
    await close().catch(() => {});
    rmSync(rawRoot, { recursive: true, force: true });
  }
}
