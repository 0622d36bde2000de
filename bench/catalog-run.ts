// A catalog of 14 backups of the largest size, all made by the product (whatever its format, nothing is copied or
// forged): the time of `database-backup list`, and whether a backup run reads the dumps already there, from the
// server's /proc/<pid>/io with `keep = 14` (retention at work, as in a real deployment).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { isDataFileName } from './backup-file';
import { clearBackups, productCreate } from './contenders';
import { runLoad, signedGetHeaders } from './load';
import { median } from './stats';
import { ADMIN, type BenchServer } from './server';

export const CATALOG_BACKUPS = 14;
const LIST_REPS = 5;

export interface IoCounters {
  /** Bytes through read() and friends, page cache included (what the process asked for). */
  rchar: number;
  /** Bytes fetched from the block device. */
  readBytes: number;
}

export interface CatalogFigures {
  dataset: string;
  sizeMb: number;
  backups: number;
  /** Sum of the data files' sizes when `list` ran. */
  totalBytes: number;
  createMs: number[];
  /** Wall clock of `bomnipotent_client -o raw database-backup list`, per repetition. */
  listClientMs: number[];
  /** The same request sent by this process (signed GET /database-backup): the server's answer time. */
  listHttpMs: number[];
  /** How many entries the answer held. */
  listedEntries: number;
  /** Reads of the server process (its children included once reaped) during one backup run. */
  io: { firstBackup: IoCounters; withCatalog: IoCounters; backupFileBytes: number };
}

/** Cumulative I/O of a process and its reaped children, from /proc/<pid>/io. */
export function readIo(pid: number): IoCounters {
  const text = readFileSync(`/proc/${pid}/io`, 'utf8');
  const field = (name: string) => Number(new RegExp(`^${name}:\\s*(\\d+)`, 'm').exec(text)?.[1] ?? NaN);
  return { rchar: field('rchar'), readBytes: field('read_bytes') };
}

const minus = (a: IoCounters, b: IoCounters): IoCounters => ({
  rchar: a.rchar - b.rchar,
  readBytes: a.readBytes - b.readBytes,
});

/** How many backups a `list` answer holds: its `backups` array, else its longest array (the format may vary). */
export function listedCount(answer: unknown): number {
  if (Array.isArray(answer)) return answer.length;
  if (answer === null || typeof answer !== 'object') return 0;
  const record = answer as Record<string, unknown>;
  if (Array.isArray(record.backups)) return record.backups.length;
  return Math.max(0, ...Object.values(record).map((v) => (Array.isArray(v) ? v.length : 0)));
}

function catalogBytes(directory: string): number {
  return readdirSync(directory)
    .filter(isDataFileName)
    .reduce((total, name) => total + statSync(join(directory, name)).size, 0);
}

const log = (text: string) => process.stdout.write(`[bench] ${text}\n`);

export async function runCatalog(
  server: BenchServer,
  where: { dataset: string; sizeMb: number; backupDir: string; rssMs: number },
): Promise<CatalogFigures> {
  await clearBackups(where.backupDir);
  await server.setTaskKeys([`keep = ${CATALOG_BACKUPS}`]);
  const createMs: number[] = [];
  const backup = async () => {
    const before = readIo(server.pid);
    const made = await productCreate(server, where.backupDir, where.rssMs);
    createMs.push(made.ms);
    return { io: minus(readIo(server.pid), before), sizeBytes: made.sizeBytes };
  };
  const first = await backup();
  while (createMs.length < CATALOG_BACKUPS) await backup();
  log(`catalog: ${CATALOG_BACKUPS} backups made; timing list`);

  const listClientMs: number[] = [];
  let listedEntries = 0;
  for (let i = 0; i < LIST_REPS; i += 1) {
    const result = await server.client(['-o', 'raw', 'database-backup', 'list']);
    if (result.code !== 0) throw new Error(`database-backup list failed: ${result.stderr}${result.stdout}`);
    listClientMs.push(result.ms);
    listedEntries = listedCount(JSON.parse(result.stdout));
  }
  const listHttpMs: number[] = [];
  const headers = signedGetHeaders(ADMIN, server.secretKeyPem(), '/database-backup', server.url);
  for (let i = 0; i < LIST_REPS; i += 1) {
    const one = await runLoad({
      baseUrl: server.url,
      path: '/database-backup',
      concurrency: 1,
      maxRequests: 1,
      maxSeconds: 600,
      headers,
    });
    if (one.ok !== 1) throw new Error(`GET /database-backup failed: ${JSON.stringify(one.failures)}`);
    listHttpMs.push(one.maxMs);
  }
  const totalBytes = catalogBytes(where.backupDir);

  // One more run with the catalog full: retention removes the oldest, as every day in a real deployment.
  const withCatalog = await backup();
  await server.setTaskKeys([]);
  await clearBackups(where.backupDir);
  log(
    `catalog: list ${Math.round(median(listHttpMs))} ms (HTTP), ${Math.round(median(listClientMs))} ms (client); ` +
      `backup run read ${(withCatalog.io.rchar / 1048576).toFixed(0)} MB with ${CATALOG_BACKUPS} present, ` +
      `${(first.io.rchar / 1048576).toFixed(0)} MB with none`,
  );
  return {
    dataset: where.dataset,
    sizeMb: where.sizeMb,
    backups: CATALOG_BACKUPS,
    totalBytes,
    createMs,
    listClientMs,
    listHttpMs,
    listedEntries,
    io: { firstBackup: first.io, withCatalog: withCatalog.io, backupFileBytes: first.sizeBytes },
  };
}
