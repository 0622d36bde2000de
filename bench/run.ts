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
import { renderCatalog, renderTable, writeResults } from './report';
import { runSize, tagFor, type SizeFigures } from './size-run';
import { rssFlatness, summarizeSize, TARGETS } from './summary';

const TOOLS = ['pgbench', 'pg_dump', 'psql', 'createdb', 'dropdb', 'pg_restore', 'zstd', 'gzip'];

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
  const stopDescendants = () => {
    // Only what this run started: the server processes and tools below this process.
    for (const pid of descendantsOf(process.pid)) {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        // already gone
      }
    }
  };
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
  // An object, so that TypeScript sees the handler's assignment in the loops below.
  const stop: { signal: NodeJS.Signals | null } = { signal: null };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      stop.signal = signal;
      process.stderr.write(`[bench] ${signal}: stopping, then cleaning up\n`);
      // The running step fails once its process is gone; the main flow then cleans up in its finally.
      stopDescendants();
      setTimeout(() => void cleanUp().finally(() => process.exit(130)), 30_000).unref();
    });
  }

  const busy = otherLoad();
  const checkout = describeCheckout(repo);
  const bundledClient = await bundleClient(repo, workDir);
  const pgVersion = await serverVersion();
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

  const figures: SizeFigures[] = [];
  let failure: unknown = null;
  // The catalog (14 backups) once, at the largest size, on the documents when they run: what BOMnipotent holds.
  const largest = Math.max(...options.sizesMb);
  const catalogDataset = options.datasets.includes('documents') ? 'documents' : options.datasets[0];
  try {
    for (const dataset of options.datasets) {
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
              bundledClient,
              interrupted: () => stop.signal !== null,
              repo,
              catalog: options.catalog && dataset === catalogDataset && sizeMb === largest,
              cluster,
            }),
          );
        } finally {
          // Free the disk before the next, larger size.
          await dropDatabasesWithPrefix(`${prefix}${tag}`);
          rmSync(join(workDir, `size-${tag}`), { recursive: true, force: true });
        }
      }
    }
  } catch (error) {
    failure = error;
    process.stderr.write(
      `[bench] FAILED: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
  } finally {
    await cleanUp();
  }

  const summaries = figures.map(summarizeSize);
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
    targets: { ...TARGETS, fileSize: FILE_SIZE_TARGET, catalog: CATALOG_TARGETS, standby: STANDBY_TARGETS },
    summary: { sizes: summaries, rssFlatness: rssFlatness(summaries) },
    sizes: figures,
  });
  process.stdout.write(`[bench] figures written to ${path}\n`);
  return stop.signal ? 130 : failure === null ? 0 : 1;
}

process.exitCode = await main();
