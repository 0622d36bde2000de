// The compressed raw contenders: `pg_dump -Fp <db> | zstd -1 > file` and `| gzip -1 > file`, piped by this process
// (no shell), timed from the first spawn until both have exited.
import { spawn, type ChildProcess } from 'node:child_process';
import { open, stat } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import type { RawRun } from './contenders';
import { sampleTree } from './memory';
import { pgEnv } from './processes';

export type Compressor = 'zstd' | 'gzip';

export interface CompressedRun extends RawRun {
  fileBytes: number;
}

const ARGS: Record<Compressor, string[]> = { zstd: ['-1', '-q', '-c'], gzip: ['-1', '-c'] };

function exit(child: ChildProcess, name: string): Promise<string | null> {
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-2048)));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) =>
      resolve(code === 0 ? null : `${name} failed (${signal ?? `exit ${code}`}): ${stderr.trim()}`),
    );
  });
}

export async function compressedDump(
  database: string,
  file: string,
  compressor: Compressor,
  rssMs: number,
): Promise<CompressedRun> {
  const out = await open(file, 'w');
  const dumpTree = sampleTree(rssMs);
  const packTree = sampleTree(rssMs);
  const started = performance.now();
  try {
    const dump = spawn('pg_dump', ['-Fp', database], { env: pgEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    dumpTree.attach(dump.pid!);
    // pg_dump's stdout pipe becomes the compressor's stdin; this process never reads it.
    const pack = spawn(compressor, ARGS[compressor], { stdio: [dump.stdout, out.fd, 'pipe'] });
    packTree.attach(pack.pid!);
    // The child has its own copy now; this one would keep pg_dump's 'close' from ever firing.
    dump.stdout.destroy();
    const failures = (await Promise.all([exit(dump, 'pg_dump'), exit(pack, compressor)])).filter(Boolean);
    if (failures.length) throw new Error(failures.join('; '));
    const ms = performance.now() - started;
    return {
      ms,
      toolPeakRssBytes: dumpTree.stop() + packTree.stop(),
      steps: { [`pg_dump | ${compressor} -1`]: ms },
      fileBytes: (await stat(file)).size,
    };
  } finally {
    dumpTree.stop();
    packTree.stop();
    await out.close();
  }
}
