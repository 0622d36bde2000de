// The restore's stream stages on their own, for where its memory goes: a synthetic plain dump of wide document rows
// (bench/documents), zstd-compressed, read as a restore reads it (file -> progress -> hash -> zstd -d -> dump guard
// -> [young-gc] -> role filter -> row counter) into psql loading a scratch database, with process.memoryUsage() and
// the bytes in the stages' buffers sampled every 20 ms. Run as the server runs:
//   node --max-semi-space-size=2 --expose-gc bin/run-ts.js bench/restore-memory.ts [size MB]
// Without --expose-gc the young-gc stage is left out, as in a server started without it. BENCH_FORCE_GC=1 with
// --expose-gc also runs a full collection every 200 ms: what is left is what the pipeline really holds.
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, existsSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable, type Duplex, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { installedPackages } from './documents/packages';
import { copyLine, documentRows } from './documents/shapes';
import { CopyRowCounter } from '../runtime/executor/copy-count';
import { HashingPassThrough } from '../runtime/executor/dump-file';
import { DumpGuard } from '../runtime/executor/dump-guard';
import { processStage } from '../runtime/executor/filters';
import { ProgressTap } from '../runtime/executor/progress-tap';
import { RoleFilter } from '../runtime/executor/role-filter';
import { writeToChild } from '../runtime/executor/child-input';
import { youngGcStages } from '../runtime/executor/young-gc';
import { FEED_READ_BYTES } from '../runtime/executor/read-backup';

const MB = 1024 * 1024;
const KEY = 'benchKey1';
const PG = ['-h', process.env.PGHOST ?? '127.0.0.1', '-U', process.env.PGUSER ?? 'root'];

async function makeDump(path: string, sizeMb: number): Promise<void> {
  const out = createWriteStream(path);
  const write = async (text: string) => {
    if (!out.write(text)) await once(out, 'drain');
  };
  await write(`--\n-- PostgreSQL database dump\n--\n\n\\restrict ${KEY}\n\nSET client_encoding = 'UTF8';\n`);
  await write(
    'CREATE TABLE public.docs (kind text, name text, version text, published timestamptz, doc jsonb);\n',
  );
  await write('COPY public.docs (kind, name, version, published, doc) FROM stdin;\n');
  let bytes = 0;
  for (const row of documentRows(installedPackages(process.cwd()), 20261130)) {
    const line = copyLine(row);
    bytes += line.length;
    await write(line);
    if (bytes >= sizeMb * MB) break;
  }
  await write(`\\.\n\n--\n-- PostgreSQL database dump complete\n--\n\n\\unrestrict ${KEY}\n`);
  out.end();
  await once(out, 'finish');
  execFileSync('zstd', ['-1', '-q', '--rm', '-f', path]);
}

interface Peaks {
  rss: number;
  heapUsed: number;
  arrayBuffers: number;
  inStages: number;
}

function sample(stages: readonly (Readable | Duplex | Writable)[], peaks: Peaks): NodeJS.Timeout {
  const gc = process.env.BENCH_FORCE_GC ? (globalThis as { gc?: () => void }).gc : undefined;
  let ticks = 0;
  return setInterval(() => {
    if (gc && ++ticks % 10 === 0) gc();
    const m = process.memoryUsage();
    let held = 0;
    for (const s of stages)
      held += ('readableLength' in s ? s.readableLength : 0) + ('writableLength' in s ? s.writableLength : 0);
    peaks.rss = Math.max(peaks.rss, m.rss);
    peaks.heapUsed = Math.max(peaks.heapUsed, m.heapUsed);
    peaks.arrayBuffers = Math.max(peaks.arrayBuffers, m.arrayBuffers);
    peaks.inStages = Math.max(peaks.inStages, held);
  }, 20);
}

/** User and system CPU time of this process since `before`, in seconds. */
function cpuSeconds(before: NodeJS.CpuUsage): string {
  const used = process.cpuUsage(before);
  return ((used.user + used.system) / 1e6).toFixed(2);
}

async function restore(file: string, database: string): Promise<void> {
  const handle = await open(file);
  const source = handle.createReadStream({ start: 0, autoClose: false, highWaterMark: FEED_READ_BYTES });
  const zstd = processStage(
    'zstd',
    ['-d', '-q', '-c', '-'],
    { PATH: process.env.PATH ?? '/usr/bin:/bin' },
    () => {
      throw new Error('zstd failed');
    },
  );
  const args = [
    '-X',
    '-q',
    ...PG,
    '-v',
    'ON_ERROR_STOP=1',
    '--single-transaction',
    '-f',
    '-',
    '-d',
    database,
  ];
  const psql = spawn('psql', args, { stdio: ['pipe', 'ignore', 'inherit'] });
  const sink = new Writable({
    highWaterMark: 64 * 1024,
    write: (chunk: Buffer, _encoding, callback) => writeToChild(psql.stdin, 'psql', chunk, callback),
    final: (callback) => psql.stdin.end(callback),
  });
  const roles = { exists: () => true, mayOwn: () => true };
  const stages = [
    source,
    new ProgressTap(undefined),
    new HashingPassThrough(),
    zstd.stream,
    new DumpGuard({ requireRestrict: true }),
    ...youngGcStages(),
    new RoleFilter(roles),
    new CopyRowCounter(),
    sink,
  ];
  const before = process.memoryUsage();
  const peaks: Peaks = { rss: 0, heapUsed: 0, arrayBuffers: 0, inStages: 0 };
  const timer = sample([...stages, psql.stdin], peaks);
  const started = Date.now();
  const cpuBefore = process.cpuUsage();
  try {
    await pipeline(stages);
    await once(psql, 'close');
  } finally {
    clearInterval(timer);
    await handle.close();
  }
  const mb = (n: number) => `${(n / MB).toFixed(1)} MB`;
  console.log(
    `${((Date.now() - started) / 1000).toFixed(1)} s (this process's CPU ${cpuSeconds(cpuBefore)} s); rss ${mb(before.rss)} -> peak ${mb(peaks.rss)}; ` +
      `peak heapUsed ${mb(peaks.heapUsed)}, arrayBuffers ${mb(peaks.arrayBuffers)}, in the stages ${mb(peaks.inStages)}`,
  );
}

const sizeMb = Number(process.argv[2] ?? 250);
const dump = join(tmpdir(), `bench-restore-memory-${sizeMb}.dump`);
if (!existsSync(`${dump}.zst`)) await makeDump(dump, sizeMb);
const database = `bench_restore_memory_${process.pid}`;
execFileSync('createdb', [...PG, database]);
try {
  await restore(`${dump}.zst`, database);
} finally {
  execFileSync('dropdb', [...PG, '--force', database]);
}
