// Steps of one database size (bench/size-run.ts) besides the repetitions: the data, the client's start-up, the standby.
import { clearBackups } from './contenders';
import { createPgbenchDatabase, settle } from './databases';
import { createDocumentDatabase, type DocumentLoad } from './documents/load';
import { scaleFor, type BenchOptions, type Dataset } from './options';
import type { BenchServer } from './server';
import { runStandby, type StandbyFigures } from './standby-run';

export const log = (text: string) => process.stdout.write(`[bench] ${text}\n`);
export const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

/** The dataset at its size: pgbench's tables, or SBOM and CSAF documents. */
export async function generate(
  tag: string,
  dataset: Dataset,
  sizeMb: number,
  database: string,
  repo: string,
) {
  const scale = dataset === 'pgbench' ? scaleFor(sizeMb) : null;
  let documents: DocumentLoad | null = null;
  let generateMs: number;
  if (scale !== null) {
    log(`${tag}: pgbench -i -s ${scale} into ${database} ...`);
    generateMs = await createPgbenchDatabase(database, scale);
  } else {
    log(`${tag}: SBOM and CSAF documents into ${database} ...`);
    documents = await createDocumentDatabase(database, sizeMb, repo);
    generateMs = documents.ms;
  }
  return { scale, documents, generateMs };
}

/** Three `health` calls through the client's bin entry and, when it was built, through the esbuild bundle. */
export async function clientStartups(server: BenchServer, bundledClient: string | null) {
  const startups: number[] = [];
  const bundled: number[] = [];
  for (let i = 0; i < 3; i += 1) {
    startups.push((await server.client(['health'])).ms);
    if (bundledClient) bundled.push((await server.client(['health'], {}, bundledClient)).ms);
  }
  return { startups, bundled };
}

/** The rehearsal and the restore from the standby, on an emptied backup directory. */
export async function standbyStep(
  tag: string,
  server: BenchServer,
  backupDir: string,
  options: BenchOptions,
  cluster: { autovacuum: boolean },
): Promise<StandbyFigures> {
  await clearBackups(backupDir);
  await settle();
  const standby = await runStandby(server, options, cluster);
  log(
    `${tag}: rehearsal ${s(standby.rehearsal.wallMs)}; restore from the standby ${s(standby.restore.ms)} ` +
      `(writes refused ${standby.restore.probes.writesRefusedMs.toFixed(0)} ms, ` +
      `reads unavailable ${standby.restore.probes.unavailableMs.toFixed(0)} ms)`,
  );
  return standby;
}
