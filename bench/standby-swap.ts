// Measures the instant restore's choices on one database of about SIZE_MB (default 200): the file restore, the
// rehearsal, the restore that swaps the rehearsed standby in (and the write-refused window inside it), and what a
// clone of the standby (CREATE DATABASE ... TEMPLATE, both strategies) would add to that window instead.
// Run: node bin/run-ts.js bench/standby-swap.ts  (PostgreSQL at PGHOST/127.0.0.1, a superuser role).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rehearseBackup } from '../handlers/backup/rehearse-backup';
import { standbyName } from '../handlers/backup/database-names';
import { restoreBackup } from '../handlers/backup/restore-backup';
import pg from 'pg';
import { createRealContext, makeBackup, migrateToLatest } from '../tests/support/restore-real';

const sizeMb = Number(process.env.SIZE_MB ?? 200);
const adminUrl = process.env.BENCH_PG_URL ?? 'postgresql://root@127.0.0.1:5432/postgres';

async function adminQuery<T extends pg.QueryResultRow>(sql: string, params: unknown[] = []) {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    return await client.query<T>(sql, params);
  } finally {
    await client.end();
  }
}

async function createDatabase(name: string) {
  await adminQuery(`CREATE DATABASE "${name}"`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    drop: async () => {
      const { rows } = await adminQuery<{ datname: string }>(
        `SELECT datname FROM pg_database WHERE datname = $1 OR datname LIKE $2`,
        [name, `${name}\\_%`],
      );
      for (const row of rows) await adminQuery(`DROP DATABASE IF EXISTS "${row.datname}" WITH (FORCE)`);
    },
  };
}

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const start = performance.now();
  const value = await fn();
  return [value, performance.now() - start];
}

async function main(): Promise<void> {
  const database = await createDatabase(`bench_sb_${process.pid}`);
  const directory = await mkdtemp(join(tmpdir(), 'bomnipotent-bench-standby-'));
  const world = createRealContext({ url: database.url, directory });
  world.settings.rehearse = true;
  try {
    await migrateToLatest(world);
    await world.db.query('CREATE TABLE docs (id bigserial PRIMARY KEY, body text NOT NULL)');
    // ~1 KB per row, in batches.
    const rows = sizeMb * 1024;
    for (let done = 0; done < rows; done += 50_000) {
      await world.db.query(
        `INSERT INTO docs (body) SELECT repeat(md5(g::text), 30) FROM generate_series(1, $1) g`,
        [Math.min(50_000, rows - done)],
      );
    }
    const { rows: size } = await adminQuery<{ s: string }>('SELECT pg_database_size($1)::text AS s', [
      database.name,
    ]);
    console.log(`database: ${(Number(size[0]?.s) / 1048576).toFixed(0)} MB`);
    await makeBackup(world, new Date(Date.now() - 60_000));

    // The write-refused window: from read-only to normal, as the maintenance mode sees it.
    let readOnlyAt = 0;
    let windowMs = 0;
    const original = world.ctx.maintenance.set.bind(world.ctx.maintenance);
    world.ctx.maintenance.set = (phase, reason) => {
      if (phase === 'read-only') readOnlyAt = performance.now();
      if (phase === 'normal' && readOnlyAt > 0) windowMs = performance.now() - readOnlyAt;
      original(phase, reason);
    };

    const [, fileMs] = await timed(() => restoreBackup({ user: 'bench' }, world.ctx));
    console.log(`restore from the file: ${fileMs.toFixed(0)} ms (writes refused ${windowMs.toFixed(0)} ms)`);
    const [record, rehearsalMs] = await timed(() => rehearseBackup({ user: 'bench' }, world.ctx));
    console.log(`rehearsal: ${rehearsalMs.toFixed(0)} ms (${record.rows} rows)`);

    for (const strategy of ['WAL_LOG', 'FILE_COPY']) {
      const clone = `${database.name}_clone`;
      const [, cloneMs] = await timed(() =>
        adminQuery(
          `CREATE DATABASE "${clone}" TEMPLATE "${standbyName(database.name)}" STRATEGY ${strategy}`,
        ),
      );
      console.log(`clone of the standby (${strategy}): ${cloneMs.toFixed(0)} ms`);
      await adminQuery(`DROP DATABASE "${clone}"`);
    }

    readOnlyAt = 0;
    const [result, swapMs] = await timed(() => restoreBackup({ user: 'bench' }, world.ctx));
    console.log(
      `restore from the standby (${result.source.via}): ${swapMs.toFixed(0)} ms (writes refused ${windowMs.toFixed(0)} ms)`,
    );
  } finally {
    await world.close();
    await database.drop();
    await rm(directory, { recursive: true, force: true });
  }
}

await main();
