// The raw contender of a restore to a point, by hand with PostgreSQL's own tools: a `pg_basebackup -Ft -X fetch` tar
// taken next to the product's base backup and the same WAL as plain files (both prepared untimed), then, timed:
// tar -x, recovery.signal and recovery_target_time, `pg_ctl start` until promoted, `createdb`, and
// `pg_dump | psql` of the database into the bench cluster. No verification, no signatures, no swap.
import { spawn } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, openSync, closeSync, rmSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { join } from 'node:path';
import pg from 'pg';
import { asPostgres, serverBinaries } from '../runtime/pitr/instance';
import type { PitrBench } from './pitr-setup';
import { pgEnv, runOk } from './processes';

export interface RawPointRestore {
  ms: number;
  steps: Record<string, number>;
}

/** A folder the instance's OS user can reach (as root, `postgres` cannot enter root's private temp folders). */
export function rawFolder(): string {
  const root = mkdtempSync('/tmp/bench-pitr-raw-');
  mkdirSync(join(root, 'wal'));
  return root;
}

/** Untimed: the base backup, as an administrator would take it by hand, beside the product's. */
export async function rawBaseBackup(root: string): Promise<void> {
  await runOk('pg_basebackup', ['-D', join(root, 'base'), '-Ft', '-X', 'fetch', '--checkpoint=fast']);
}

/** Untimed: the product's sealed segments as plain WAL files, as an archive_command copy would hold them. */
export async function rawWalArchive(root: string, bench: PitrBench): Promise<number> {
  const catalog = await bench.catalog();
  for (const s of catalog.segments) {
    const out = openSync(join(root, 'wal', s.segment), 'w');
    try {
      await runOk('zstd', ['-d', '-q', '-c', join(bench.directory, 'pitr', s.file)], { stdout: out });
    } finally {
      closeSync(out);
    }
  }
  return catalog.segments.length;
}

function pipeDumpIntoPsql(socket: string, database: string, into: string): Promise<void> {
  const dump = spawn('pg_dump', ['-h', socket, '-p', '5432', '-U', 'postgres', '-Fp', database], {
    env: pgEnv(),
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const psql = spawn('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', into], {
    env: pgEnv(),
    stdio: [dump.stdout, 'ignore', 'inherit'],
  });
  dump.stdout.destroy();
  const exit = (child: ReturnType<typeof spawn>, name: string) =>
    new Promise<void>((resolve, reject) =>
      child.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`${name} exit ${code}`)))),
    );
  return Promise.all([exit(dump, 'pg_dump'), exit(psql, 'psql')]).then(() => undefined);
}

async function promoted(socket: string): Promise<boolean> {
  const c = new pg.Client({ host: socket, port: 5432, user: 'postgres', database: 'postgres' });
  return c
    .connect()
    .then(() => c.query<{ r: boolean }>('SELECT pg_is_in_recovery() AS r'))
    .then((r) => r.rows[0]?.r === false)
    .catch(() => false)
    .finally(() => c.end().catch(() => {}));
}

/** Timed: the recovery of `database` to `target` (ISO) into a new database `into` of the bench cluster. */
export async function rawPointRestore(
  root: string,
  o: { major: number; database: string; target: string; into: string },
): Promise<RawPointRestore> {
  const data = join(root, 'data');
  const steps: Record<string, number> = {};
  const started = performance.now();
  let mark = started;
  const step = (name: string) => {
    const now = performance.now();
    steps[name] = now - mark;
    mark = now;
  };
  const ids = await asPostgres();
  const as = ids ? { uid: ids.uid, gid: ids.gid } : {};
  const pgCtl = join(serverBinaries(o.major), 'pg_ctl');
  try {
    mkdirSync(data, { mode: 0o700 });
    await runOk('tar', ['-x', '-f', join(root, 'base', 'base.tar'), '-C', data]);
    appendFileSync(
      join(data, 'postgresql.auto.conf'),
      [
        '',
        "listen_addresses = ''",
        'port = 5432',
        `unix_socket_directories = '${root}'`,
        `restore_command = 'cp "${join(root, 'wal')}/%f" "%p"'`,
        `recovery_target_time = '${o.target.replace('T', ' ').replace('Z', '+00')}'`,
        "recovery_target_action = 'promote'",
        '',
      ].join('\n'),
    );
    writeFileSync(join(data, 'recovery.signal'), '');
    if (ids) await runOk('chown', ['-R', `${ids.uid}:${ids.gid}`, root]);
    step('tar -x');
    await runOk(pgCtl, ['-D', data, '-l', join(root, 'log'), '-w', '-t', '3600', 'start'], { as });
    while (!(await promoted(root))) await new Promise((r) => setTimeout(r, 100));
    step('recovery to the target');
    await runOk('createdb', [o.into]);
    await pipeDumpIntoPsql(root, o.database, o.into);
    step('createdb; pg_dump | psql');
    return { ms: performance.now() - started, steps };
  } finally {
    await runOk(pgCtl, ['-D', data, '-m', 'immediate', '-w', 'stop'], { as }).catch(() => {});
    rmSync(data, { recursive: true, force: true });
  }
}
