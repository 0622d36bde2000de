// One database size: generate the data, start the server, then the repetitions with the contenders in rotating order.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  archiveDump,
  archiveRestore,
  clearBackups,
  fileBytes,
  fsyncMs,
  productCreate,
  productRestore,
  rawDump,
  rawRestore,
  type ProductCreate,
  type ProductRestore,
  type RawRun,
} from './contenders';
import { runCatalog, type CatalogFigures } from './catalog-run';
import { entryOf } from './checkout';
import { compressedDump, type CompressedRun } from './compressed';
import { copyDatabase, databaseBytes, databaseUrl, settle } from './databases';
import { type DocumentLoad } from './documents/load';
import { runLoad, signedGetHeaders, type LoadResult } from './load';
import { sampleMemory, type MemoryPeak } from './memory';
import { startProbes } from './probes';
import { otherLoad } from './other-load';
import { type BenchOptions, type Dataset } from './options';
import { median } from './stats';
import { ADMIN, startBenchServer, type BenchServer } from './server';
import { type StandbyFigures } from './standby-run';
import { clientStartups, generate, log, s, standbyStep } from './size-steps';

export interface RepFigures {
  rep: number;
  /** Other test runs seen when the repetition started: figures of such a repetition are less trustworthy. */
  otherLoad: string[];
  order: string[];
  idleServerRssBytes: number;
  create: {
    raw: RawRun & { fsyncMs: number; fileBytes: number };
    product: ProductCreate;
    archive?: RawRun & { fileBytes: number };
    /** pg_dump -Fp piped through zstd -1 / gzip -1: what plain compression alone gives. */
    zstd?: CompressedRun;
    gzip?: CompressedRun;
  };
  restore: { raw: RawRun; product: ProductRestore; archive?: RawRun };
  load?: { health: LoadResult; whoAmI: LoadResult; server: MemoryPeak };
}

export interface SizeFigures {
  dataset: Dataset;
  sizeMb: number;
  /** pgbench's scale; null for the document dataset. */
  scale: number | null;
  /** How the document dataset was loaded; null for pgbench. */
  documents: DocumentLoad | null;
  database: string;
  databaseBytes: number;
  generateMs: number;
  /** Wall clock of `bomnipotent_client health`: what process start-up (node + tsx) adds to every client call. */
  clientStartupMs: number;
  /** How bin/launch.js started the server and the client: the dist/ bundle, or the sources through tsx. */
  entries: { server: 'bundle' | 'tsx'; client: 'bundle' | 'tsx' };
  /** The same with the client bundled to plain JavaScript (no tsx at start-up); null when not measured. */
  bundledClientStartupMs: number | null;
  reps: RepFigures[];
  /** list with 14 backups and the reads of a backup run; measured at the largest size only. */
  catalog?: CatalogFigures;
  /** The rehearsal and the restore from the rehearsed standby (last: it leaves a standby behind). */
  standby?: StandbyFigures;
}

type Contender = 'raw' | 'product' | 'archive' | 'zstd' | 'gzip';

/** The contenders in rotating order: none always runs first (cold) or last (after the others' I/O). */
function orderFor(rep: number, o: BenchOptions): Contender[] {
  const all: Contender[] = [
    'raw',
    'product',
    ...(o.archive ? (['archive'] as const) : []),
    ...(o.compressed ? (['zstd', 'gzip'] as const) : []),
  ];
  return all.map((_, i) => all[(i + rep) % all.length]!);
}

/** The part of every database name and directory of one dataset and size. */
export function tagFor(dataset: Dataset, sizeMb: number): string {
  return `${dataset === 'pgbench' ? 'pgb' : 'doc'}${sizeMb}`;
}

export interface SizeContext {
  options: BenchOptions;
  prefix: string; // every database of this run starts with it
  workDir: string;
  clientHome: string;
  /** The client bundled to plain JS (diagnostic), or null. */
  bundledClient: string | null;
  /** True after SIGINT/SIGTERM: no new step starts. */
  interrupted: () => boolean;
  repo: string;
  /** Measure the catalog (14 backups) at this dataset and size. */
  catalog: boolean;
  /** The PostgreSQL measured: with autovacuum on, the standby's restore waits for its visit first. */
  cluster: { autovacuum: boolean };
}

/** The repetitions of create and restore, product against raw tools, each logged. */
async function runReps(
  tag: string,
  server: BenchServer,
  places: Places,
  ctx: SizeContext,
): Promise<RepFigures[]> {
  const { options } = ctx;
  const reps: RepFigures[] = [];
  for (let rep = 0; rep < options.reps; rep += 1) {
    if (ctx.interrupted()) throw new Error('interrupted');
    reps.push(await runRep(rep, server, places, options));
    const last = reps.at(-1)!;
    log(
      `${tag} rep ${rep + 1}/${options.reps}: create raw ${s(last.create.raw.ms)} product ${s(last.create.product.ms)}; ` +
        `restore raw ${s(last.restore.raw.ms)} product ${s(last.restore.product.ms)} ` +
        `(503 ${last.restore.product.probes.unavailableMs.toFixed(0)} ms)`,
    );
  }
  return reps;
}

export async function runSize(dataset: Dataset, sizeMb: number, ctx: SizeContext): Promise<SizeFigures> {
  const { options } = ctx;
  const tag = tagFor(dataset, sizeMb);
  const database = `${ctx.prefix}${tag}`;
  const rawDb = `${database}_raw`;
  const archiveDb = `${database}_fc`;
  const dir = join(ctx.workDir, `size-${tag}`);
  const backupDir = join(dir, 'backups');
  const rawDir = join(dir, 'raw');
  for (const d of [backupDir, rawDir, join(dir, 'config')]) mkdirSync(d, { recursive: true });

  const { scale, documents, generateMs } = await generate(tag, dataset, sizeMb, database, ctx.repo);
  // Same-size copies, so that the baselines' first dropdb drops as much as the product's restore does.
  await copyDatabase(database, rawDb);
  if (options.archive) await copyDatabase(database, archiveDb);

  const entries = {
    server: entryOf(ctx.repo, 'bomnipotent_server'),
    client: entryOf(ctx.repo, 'bomnipotent_client'),
  };
  const server = await startBenchServer(
    databaseUrl(database),
    backupDir,
    join(dir, 'config'),
    ctx.clientHome,
  );
  try {
    const size = await databaseBytes(database);
    log(
      `${tag}: database is ${(size / 1048576).toFixed(0)} MB; server pid ${server.pid} at ${server.url}; ` +
        `server from ${entries.server}, client from ${entries.client}`,
    );
    const { startups, bundled } = await clientStartups(server, ctx.bundledClient);
    const reps = await runReps(tag, server, { database, rawDb, archiveDb, backupDir, rawDir }, ctx);
    // Load tests last: a heap grown under request load would inflate the backup and restore RSS figures.
    if (options.load) {
      for (const [rep, figures] of reps.entries()) {
        if (ctx.interrupted()) throw new Error('interrupted');
        figures.load = await runLoads(rep, server, options);
      }
      log(`${tag}: load tests done`);
    }
    const catalog = ctx.catalog
      ? await runCatalog(server, { dataset, sizeMb, backupDir, rssMs: options.rssIntervalMs })
      : undefined;
    const standby =
      options.standby && !ctx.interrupted()
        ? await standbyStep(tag, server, backupDir, ctx.options, ctx.cluster)
        : undefined;
    return {
      ...(standby ? { standby } : {}),
      dataset,
      sizeMb,
      scale,
      documents,
      ...(catalog ? { catalog } : {}),
      database,
      databaseBytes: size,
      generateMs,
      entries,
      clientStartupMs: median(startups),
      bundledClientStartupMs: bundled.length ? median(bundled) : null,
      reps,
    };
  } finally {
    await server.stop();
  }
}

interface Places {
  database: string;
  rawDb: string;
  archiveDb: string;
  backupDir: string;
  rawDir: string;
}

async function runRep(rep: number, server: BenchServer, p: Places, o: BenchOptions): Promise<RepFigures> {
  const order = orderFor(rep, o);
  const busy = otherLoad();
  if (busy.length)
    log(`WARNING: rep ${rep + 1} runs next to other work: ${busy.map((b) => b.split(' ')[0]).join(', ')}`);
  const idle = sampleMemory(server.pid, o.rssIntervalMs).stop().peakRssBytes;
  const rawFile = join(p.rawDir, 'raw.sql');
  const archiveFile = join(p.rawDir, 'raw.dump');

  let rawCreate: RepFigures['create']['raw'] | undefined;
  let productCreated: ProductCreate | undefined;
  let archiveCreate: RepFigures['create']['archive'];
  const packed: Partial<Record<'zstd' | 'gzip', CompressedRun>> = {};
  for (const who of order) {
    await settle();
    if (who === 'raw') {
      const run = await rawDump(p.database, rawFile, o.rssIntervalMs);
      // Diagnostic, untimed: what an fsync of the dump would have added (pg_dump -Fp -f does not fsync).
      rawCreate = { ...run, fsyncMs: await fsyncMs(rawFile), fileBytes: await fileBytes(rawFile) };
    } else if (who === 'product') {
      productCreated = await productCreate(server, p.backupDir, o.rssIntervalMs);
    } else if (who === 'zstd' || who === 'gzip') {
      packed[who] = await compressedDump(p.database, join(p.rawDir, `raw.sql.${who}`), who, o.rssIntervalMs);
    } else {
      const run = await archiveDump(p.database, archiveFile, o.rssIntervalMs);
      archiveCreate = { ...run, fileBytes: await fileBytes(archiveFile) };
    }
  }

  let rawRestored: RawRun | undefined;
  let productRestored: ProductRestore | undefined;
  let archiveRestored: RawRun | undefined;
  for (const who of order.filter((w) => w !== 'zstd' && w !== 'gzip')) {
    await settle();
    if (who === 'raw')
      rawRestored = await underProbes(server, o, () => rawRestore(p.rawDb, rawFile, o.rssIntervalMs));
    else if (who === 'product')
      productRestored = await productRestore(server, o.rssIntervalMs, o.probeIntervalMs);
    else if (who === 'archive')
      archiveRestored = await underProbes(server, o, () =>
        archiveRestore(p.archiveDb, archiveFile, o.rssIntervalMs),
      );
  }

  await clearBackups(p.backupDir);
  return {
    rep,
    otherLoad: busy,
    order,
    idleServerRssBytes: idle,
    create: {
      raw: rawCreate!,
      product: productCreated!,
      ...(archiveCreate ? { archive: archiveCreate } : {}),
      ...packed,
    },
    restore: {
      raw: rawRestored!,
      product: productRestored!,
      ...(archiveRestored ? { archive: archiveRestored } : {}),
    },
  };
}

/**
 * The baselines run under the same probe traffic as the product's restore (about 400 requests/s to the server):
 * on two cores that traffic takes CPU from psql and PostgreSQL, and the comparison must not favour the baseline.
 */
async function underProbes<T>(server: BenchServer, o: BenchOptions, step: () => Promise<T>): Promise<T> {
  const probes = startProbes(server.url, o.probeIntervalMs);
  try {
    return await step();
  } finally {
    await probes.stop();
  }
}

async function runLoads(
  rep: number,
  server: BenchServer,
  o: BenchOptions,
): Promise<NonNullable<RepFigures['load']>> {
  const common = {
    baseUrl: server.url,
    concurrency: o.concurrency,
    maxRequests: o.loadRequests,
    maxSeconds: o.loadSeconds,
  };
  const memory = sampleMemory(server.pid, o.rssIntervalMs);
  const health = () => runLoad({ ...common, path: '/health' });
  const whoAmI = () =>
    runLoad({
      ...common,
      path: '/who-am-i',
      headers: signedGetHeaders(ADMIN, server.secretKeyPem(), '/who-am-i', server.url),
    });
  try {
    if (rep % 2 === 0) {
      const h = await health();
      return { health: h, whoAmI: await whoAmI(), server: memory.stop() };
    }
    const w = await whoAmI();
    return { health: await health(), whoAmI: w, server: memory.stop() };
  } catch (error) {
    memory.stop();
    throw error;
  }
}
