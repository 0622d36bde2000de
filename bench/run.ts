// npm run bench: backup and restore through the real server and client against the raw PostgreSQL tools, per size.
// Prints a table of medians, ratios and targets, writes bench/results/<timestamp>.json, and always cleans up.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { bundleClient } from './bundled-client';
import { describeCheckout } from './checkout';
import { useCluster } from './cluster';
import { dropDatabasesWithPrefix, serverVersion } from './databases';
import { CATALOG_TARGETS } from './catalog-summary';
import { renderStandby, STANDBY_TARGETS } from './standby-summary';
import { FILE_SIZE_TARGET } from './file-sizes';
import { descendantsOf } from './memory';
import { otherLoad } from './other-load';
import { parseOptions, scaleFor, USAGE } from './options';
import { runOk } from './processes';
import { runPitr, type PitrFigures } from './pitr-run';
import { PITR_TARGETS, renderPitr } from './pitr-summary';
import { renderCatalog, renderTable, writeResults } from './report';
import { runSize, tagFor, type SizeFigures } from './size-run';
import { rssFlatness, summarizeSize, TARGETS, type SizeSummary } from './summary';

const TOOLS = ['pgbench', 'pg_dump', 'psql', 'createdb', 'dropdb', 'pg_restore', 'zstd', 'gzip'];

type Options = Exclude<ReturnType<typeof parseOptions>, 'help'>;
type Cluster = Awaited<ReturnType<typeof useCluster>>;
/** An object, so that TypeScript sees the signal handler's assignment in the loops. */
type StopFlag = { signal: NodeJS.Signals | null };

/** Only what this run started: the server processes and tools below this process. */
function stopDescendants(): void {
  for (const pid of descendantsOf(process.pid)) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // already gone
    }
  }
}

/**
 * The clean-up (children stopped, the run's databases dropped, its work directory removed, its cluster stopped), at
 * most once; and SIGINT/SIGTERM handlers that stop the children and set the flag the measurement loops read.
 */
function prepareCleanUp(prefix: string, workDir: string, cluster: Cluster) {
  let cleaned = false;
  const cleanUp = async () => {
    if (cleaned) return;
    cleaned = true;
    stopDescendants();
    await new Promise((r) => setTimeout(r, 500));
    const dropped = await dropDatabasesWithPrefix(prefix).catch((e: unknown) => {
      process.stderr.write(`[bench] could not drop databases ${prefix}*: ${String(e)}\n`);
      return [];
    });
    rmSync(workDir, { recursive: true, force: true });
    await cluster.stop();
    process.stdout.write(
      `[bench] cleaned up: ${dropped.length} database(s) left to drop, ${workDir} removed\n`,
    );
  };
  const stop: StopFlag = { signal: null };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      stop.signal = signal;
      process.stderr.write(`[bench] ${signal}: stopping, then cleaning up\n`);
      // The running step fails once its process is gone; the main flow then cleans up in its finally.
      stopDescendants();
      // Not unref'd: once the children are gone the event loop may empty before a step fails, and the process would
      // then exit without dropping its databases or stopping its own cluster.
      setTimeout(() => void cleanUp().finally(() => process.exit(130)), 30_000);
    });
  }
  return { cleanUp, stop };
}

/** What is measured on what: the first lines of the output, and a warning when other work runs. */
function printPreamble(
  options: Options,
  facts: {
    pgVersion: string;
    cluster: Cluster;
    checkout: ReturnType<typeof describeCheckout>;
    busy: string[];
  },
): void {
  const { pgVersion, cluster, checkout, busy } = facts;
  process.stdout.write(
    `[bench] datasets ${options.datasets.join(', ')}; sizes ${options.sizesMb.join(', ')} MB (pgbench scales ${options.sizesMb.map(scaleFor).join(', ')}), ` +
      `${options.reps} reps, PostgreSQL ${pgVersion}, ${cpus().length} CPUs, node ${process.version}\n`,
  );
  process.stdout.write(`[bench] PostgreSQL measured: ${cluster.description}\n`);
  process.stdout.write(
    `[bench] checkout ${checkout.commit}${checkout.dirty ? ' (with uncommitted changes)' : ''}; verify_after_backup defaults to ${checkout.verifyAfterBackupDefault} (left at its default)\n`,
  );
  if (busy.length)
    process.stdout.write(
      `[bench] WARNING: other work is running and may distort the figures:\n  ${busy.join('\n  ')}\n`,
    );
}

interface RunContext {
  options: Options;
  prefix: string;
  workDir: string;
  repo: string;
  cluster: Cluster;
  bundledClient: string | null;
  stop: StopFlag;
}

/** Every size of every dataset, then the point-in-time recovery run; fills `figures` as it goes (kept on a failure). */
async function measure(context: RunContext, figures: SizeFigures[]): Promise<PitrFigures | undefined> {
  const { options, prefix, workDir, stop } = context;
  // The catalog (14 backups) once, at the largest size, on the documents when they run: what BOMnipotent holds.
  const largest = Math.max(...options.sizesMb);
  const catalogDataset = options.datasets.includes('documents') ? 'documents' : options.datasets[0];
  for (const dataset of options.pitr === 'only' ? [] : options.datasets) {
    for (const sizeMb of options.sizesMb) {
      if (stop.signal) throw new Error(`interrupted by ${stop.signal}`);
      const tag = tagFor(dataset, sizeMb);
      try {
        figures.push(
          await runSize(dataset, sizeMb, {
            options,
            prefix,
            workDir,
            clientHome: join(workDir, 'client'),
            bundledClient: context.bundledClient,
            interrupted: () => stop.signal !== null,
            repo: context.repo,
            catalog: options.catalog && dataset === catalogDataset && sizeMb === largest,
            cluster: context.cluster,
          }),
        );
      } finally {
        // Free the disk before the next, larger size.
        await dropDatabasesWithPrefix(`${prefix}${tag}`);
        rmSync(join(workDir, `size-${tag}`), { recursive: true, force: true });
      }
    }
  }
  if (options.pitr === 'off') return undefined;
  if (stop.signal) throw new Error(`interrupted by ${stop.signal}`);
  return runPitr({
    options,
    prefix,
    workDir,
    repo: context.repo,
    dataset: catalogDataset ?? 'documents',
    sizeMb: largest,
  });
}

/** The tables: sizes, the catalog, the standby, point-in-time recovery (each when it ran). */
function printTables(options: Options, summaries: SizeSummary[], pitr: PitrFigures | undefined): void {
  if (summaries.length) {
    process.stdout.write(
      `\nMedians of ${options.reps} repetitions per size; ratios are bomnipotent ÷ raw tools.\n\n`,
    );
    process.stdout.write(renderTable(summaries) + '\n\n');
    const catalog = renderCatalog(summaries);
    if (catalog) process.stdout.write(catalog + '\n\n');
    const standby = renderStandby(summaries.map((x) => x.standby));
    if (standby) process.stdout.write(standby + '\n\n');
  }
  if (pitr) process.stdout.write(renderPitr(pitr) + '\n\n');
}

async function main(): Promise<number> {
  const repo = resolve(import.meta.dirname, '..');
  const options = parseOptions(process.argv.slice(2), process.env, join(repo, 'bench', 'results'));
  if (options === 'help') {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  for (const tool of TOOLS) await runOk(tool, ['--version']);
  const cluster = await useCluster(options.cluster);
  const startedAt = new Date();
  const prefix = `bench_${process.pid.toString(36)}${randomBytes(1).toString('hex')}_`;
  const workDir = mkdtempSync(join(tmpdir(), 'bomnipotent-bench-'));
  const { cleanUp, stop } = prepareCleanUp(prefix, workDir, cluster);

  const busy = otherLoad();
  const checkout = describeCheckout(repo);
  const bundledClient = await bundleClient(repo, workDir);
  const pgVersion = await serverVersion();
  printPreamble(options, { pgVersion, cluster, checkout, busy });

  const figures: SizeFigures[] = [];
  let failure: unknown = null;
  let pitr: PitrFigures | undefined;
  try {
    pitr = await measure({ options, prefix, workDir, repo, cluster, bundledClient, stop }, figures);
  } catch (error) {
    failure = error;
    process.stderr.write(
      `[bench] FAILED: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
  } finally {
    await cleanUp();
  }

  const summaries = figures.map(summarizeSize);
  printTables(options, summaries, pitr);
  const path = writeResults(options.resultsDir, startedAt, {
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    complete: failure === null,
    error:
      failure === null ? undefined : failure instanceof Error ? failure.message : JSON.stringify(failure),
    machine: {
      cpus: cpus().length,
      totalMemoryBytes: totalmem(),
      node: process.version,
      postgres: pgVersion,
      cluster: { kind: cluster.kind, description: cluster.description },
    },
    otherLoadAtStart: busy,
    checkout,
    options,
    targets: {
      ...TARGETS,
      fileSize: FILE_SIZE_TARGET,
      catalog: CATALOG_TARGETS,
      standby: STANDBY_TARGETS,
      pitr: PITR_TARGETS,
    },
    summary: { sizes: summaries, rssFlatness: rssFlatness(summaries) },
    sizes: figures,
    pitr,
  });
  process.stdout.write(`[bench] figures written to ${path}\n`);
  return stop.signal ? 130 : failure === null ? 0 : 1;
}

process.exitCode = await main();
