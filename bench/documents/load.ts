// Loads the document dataset into a new database: rows streamed into `psql -c "COPY ... FROM STDIN"` with
// back-pressure (memory stays flat), until pg_database_size reaches the nominal size.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { performance } from 'node:perf_hooks';
import { databaseBytes, query } from '../databases';
import { pgEnv } from '../processes';
import { installedPackages } from './packages';
import { copyLine, documentRows } from './shapes';

const TABLE = `CREATE TABLE bench_documents (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  kind text NOT NULL,
  name text NOT NULL,
  version text NOT NULL,
  published timestamptz NOT NULL,
  doc jsonb NOT NULL
)`;
const COPY = 'COPY bench_documents (kind, name, version, published, doc) FROM STDIN';
/** How often the database's size is checked while rows stream in. */
const CHECK_EVERY_BYTES = 8 * 1024 * 1024;
const SEED = 20261130;

export interface DocumentLoad {
  ms: number;
  rows: number;
  /** Bytes of COPY text sent (about the size of the table's part of a plain dump). */
  copyBytes: number;
  packages: number;
}

export async function createDocumentDatabase(
  name: string,
  sizeMb: number,
  repo: string,
): Promise<DocumentLoad> {
  const started = performance.now();
  const packages = installedPackages(repo);
  await query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`);
  const psql = spawn('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', name, '-c', TABLE, '-c', COPY], {
    env: pgEnv(),
    stdio: ['pipe', 'ignore', 'pipe'],
  });
  let stderr = '';
  psql.stderr.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-4096)));
  const exited = once(psql, 'close') as Promise<[number | null, NodeJS.Signals | null]>;
  const target = sizeMb * 1024 * 1024;
  let rows = 0;
  let copyBytes = 0;
  let sinceCheck = 0;
  try {
    for (const row of documentRows(packages, SEED)) {
      const line = copyLine(row);
      rows += 1;
      copyBytes += Buffer.byteLength(line);
      sinceCheck += line.length;
      if (!psql.stdin.write(line)) await Promise.race([once(psql.stdin, 'drain'), exited]);
      if (psql.exitCode !== null) break;
      if (sinceCheck >= CHECK_EVERY_BYTES) {
        sinceCheck = 0;
        if ((await databaseBytes(name)) >= target) break;
      }
    }
  } finally {
    psql.stdin.end();
  }
  const [code, signal] = await exited;
  if (code !== 0)
    throw new Error(`loading the documents failed (${signal ?? `exit ${code}`}): ${stderr.trim()}`);
  return { ms: performance.now() - started, rows, copyBytes, packages: packages.length };
}
