// The measured operations, one function each: the raw PostgreSQL tools and the product through its client.
import { open, readdir, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { findBackupFile } from './backup-file';
import { sampleMemory, sampleTree, type MemoryPeak } from './memory';
import { startProbes, type ProbeReport } from './probes';
import { runOk, type Timed } from './processes';
import type { BenchServer } from './server';

export interface RawRun {
  ms: number;
  /** Summed RSS of the tool processes (the baseline has no server). */
  toolPeakRssBytes: number;
  steps: Record<string, number>;
}

export interface ProductRun {
  /** Wall clock of the client process: start-up, request, server, executor, verification, answer. */
  ms: number;
  server: MemoryPeak;
}

export interface ProductCreate extends ProductRun {
  /** The data file the create wrote (found from the answer or the directory, whatever the format) and its size. */
  path: string;
  sizeBytes: number;
  /** The server's own figure for the pg_dump phase (tool start to fsynced, checked file), when it reports one. */
  dumpPhaseMs: number | null;
  /**
   * Diagnostic, outside the timed run: the executor's format-1 verifyBackup on the new file, timed here; null when
   * this checkout has no such function or it does not take this file (another backup format).
   */
  verifyMs: number | null;
  /** From the server's log lines: "Starting database backup" to "Stored database backup". */
  serverMs: number | null;
}

export interface ProductRestore extends ProductRun {
  probes: ProbeReport;
  /** From the client's start: until writes were refused, the scratch restore, the swap, and the rest. */
  phases: {
    beforeScratchMs: number | null;
    scratchMs: number | null;
    swapMs: number;
    afterSwapMs: number | null;
  };
  /** From the server's log lines: request to verified, verified to swapped in (incl. migrate), the old copy dropped. */
  serverPhases: {
    verifyMs: number | null;
    restoreAndSwapMs: number | null;
    dropOldMs: number | null;
    totalMs: number | null;
  };
}

const between = (a: number | null, b: number | null) => (a === null || b === null ? null : b - a);

async function timedTool(
  steps: [name: string, command: string, args: string[]][],
  rssIntervalMs: number,
  check?: (name: string, result: Timed) => void,
): Promise<RawRun> {
  const out: Record<string, number> = {};
  let peak = 0;
  const started = performance.now();
  for (const [name, command, args] of steps) {
    const tree = sampleTree(rssIntervalMs);
    try {
      const result = await runOk(command, args, { onSpawn: (pid) => tree.attach(pid) });
      check?.(name, result);
      out[name] = result.ms;
    } finally {
      peak = Math.max(peak, tree.stop());
    }
  }
  return { ms: performance.now() - started, toolPeakRssBytes: peak, steps: out };
}

export async function fsyncMs(path: string): Promise<number> {
  const started = performance.now();
  const handle = await open(path, 'r+');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
  return performance.now() - started;
}

export const rawDump = (database: string, file: string, rssMs: number) =>
  timedTool([['pg_dump', 'pg_dump', ['-Fp', '-f', file, database]]], rssMs);

export const archiveDump = (database: string, file: string, rssMs: number) =>
  timedTool([['pg_dump', 'pg_dump', ['-Fc', '-f', file, database]]], rssMs);

// psql goes on after an SQL error and exits 0: a baseline that failed halfway would look fast.
const noSqlErrors = (name: string, result: Timed) => {
  if (name === 'psql' && /ERROR:/.test(result.stderr))
    throw new Error(`psql reported: ${result.stderr.trim()}`);
};

export const rawRestore = (target: string, file: string, rssMs: number) =>
  timedTool(
    [
      ['dropdb', 'dropdb', ['--if-exists', target]],
      ['createdb', 'createdb', [target]],
      ['psql', 'psql', ['-X', '-q', '-f', file, '-d', target]],
    ],
    rssMs,
    noSqlErrors,
  );

export const archiveRestore = (target: string, file: string, rssMs: number) =>
  timedTool(
    [
      ['dropdb', 'dropdb', ['--if-exists', target]],
      ['createdb', 'createdb', [target]],
      ['pg_restore', 'pg_restore', ['-j', '2', '-d', target, file]],
    ],
    rssMs,
  );

/** Format 1's full check (re-read + SHA-256), if this checkout has it and it takes the file; else null. */
async function verifyMsOf(path: string): Promise<number | null> {
  const catalog = (await import('../runtime/executor/catalog')) as Record<string, unknown>;
  const verify = catalog.verifyBackup;
  if (typeof verify !== 'function') return null;
  const started = performance.now();
  const check = verify as (d: string, f: string) => Promise<{ ok: boolean }>;
  const result = await check(dirname(path), basename(path)).catch(() => ({ ok: false }));
  return result.ok ? performance.now() - started : null;
}

export async function productCreate(
  server: BenchServer,
  backupDir: string,
  rssMs: number,
): Promise<ProductCreate> {
  const memory = sampleMemory(server.pid, rssMs);
  const mark = server.log.mark();
  let result: Timed;
  let peak: MemoryPeak;
  try {
    result = await server.client(['-o', 'raw', 'database-backup', 'create']);
  } finally {
    peak = memory.stop();
  }
  if (result.code !== 0) throw new Error(`database-backup create failed: ${result.stderr}${result.stdout}`);
  const answer = JSON.parse(result.stdout) as { durationMs?: unknown };
  const file = findBackupFile(answer, backupDir);
  return {
    ms: result.ms,
    server: peak,
    path: file.path,
    sizeBytes: file.sizeBytes,
    dumpPhaseMs: typeof answer.durationMs === 'number' ? answer.durationMs : null,
    verifyMs: await verifyMsOf(file.path),
    serverMs: between(
      server.log.at(/Starting database backup/, mark),
      server.log.at(/Stored database backup/, mark),
    ),
  };
}

export async function productRestore(
  server: BenchServer,
  rssMs: number,
  probeMs: number,
): Promise<ProductRestore> {
  const probes = startProbes(server.url, probeMs);
  const memory = sampleMemory(server.pid, rssMs);
  const mark = server.log.mark();
  let result: Timed;
  let report: ProbeReport;
  let peak: MemoryPeak;
  try {
    result = await server.client(['database-backup', 'completely-restore']);
  } finally {
    peak = memory.stop();
    report = await probes.stop();
  }
  if (result.code !== 0) throw new Error(`completely-restore failed: ${result.stderr}${result.stdout}`);
  const { readOnlyFromMs, unavailableFromMs, unavailableToMs, writesRefusedToMs } = report;
  const end = writesRefusedToMs ?? unavailableToMs;
  const requested = server.log.at(/Complete restore of database/, mark);
  const verified = server.log.at(/into the scratch database/, mark);
  const inPlace = server.log.at(/is in place at schema version/, mark);
  const done = server.log.at(/\] Restored database '/, mark);
  return {
    ms: result.ms,
    server: peak,
    probes: report,
    phases: {
      beforeScratchMs: readOnlyFromMs,
      scratchMs:
        readOnlyFromMs !== null && unavailableFromMs !== null ? unavailableFromMs - readOnlyFromMs : null,
      swapMs: report.unavailableMs,
      afterSwapMs: end === null ? null : result.ms - end,
    },
    serverPhases: {
      verifyMs: between(requested, verified),
      restoreAndSwapMs: between(verified, inPlace),
      dropOldMs: between(inPlace, done),
      totalMs: between(requested, done),
    },
  };
}

/** Empties the backup directory between repetitions (untimed); the audit log stays. */
export async function clearBackups(directory: string): Promise<void> {
  for (const name of await readdir(directory)) {
    if (name === 'audit.log.jsonl') continue;
    await rm(join(directory, name), { force: true, recursive: true });
  }
}

export async function fileBytes(path: string): Promise<number> {
  return (await stat(path)).size;
}
