// The executor sidecar sweeps its own leftover temporary load roles at its start: a role whose comment names the
// sidecar's host and pid namespace and a pid that no longer runs (a sidecar killed mid-load) is dropped by the next
// sidecar's start, not a day later by a server's; a role of a live process, or of a load for another database sharing
// the cluster, is kept. A real sidecar process.
import { spawnSync } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { currentLoadOwner, ownerComment } from '../../runtime/executor/load-owner';
import { adminQuery, createTestDatabase, type TestDatabase } from '../support/pg';
import { startSidecarProcess, type SidecarProcess } from '../support/sidecar-process';
import { tearDown } from '../support/teardown';
import { until } from '../support/until';

let database: TestDatabase;
let directory: string;
let sidecar: SidecarProcess | undefined;
const tag = Math.floor(Math.random() * 0xffffffff)
  .toString(16)
  .padStart(8, '0');
const made: string[] = [];

beforeAll(async () => {
  database = await createTestDatabase('bslr');
  directory = await mkdtemp(join(tmpdir(), 'bomnipotent-sidecar-load-role-'));
});
afterAll(async () => {
  for (const name of made) await adminQuery(`DROP ROLE IF EXISTS "${name}"`);
  await tearDown({ stop: [sidecar], db: database, dirs: [directory] });
});

async function exists(name: string): Promise<boolean> {
  const { rows } = await adminQuery('SELECT 1 FROM pg_roles WHERE rolname = $1', [name]);
  return rows.length > 0;
}

/** A load role as a maker with `pid` on this host would have made it, valid for another hour. */
async function leftover(suffix: string, pid: number, db = database.name): Promise<string> {
  const name = `bomnipotent_load_${tag}${suffix}`;
  made.push(name);
  const until = new Date(Date.now() + 3600_000).toISOString();
  await adminQuery(`CREATE ROLE "${name}" LOGIN VALID UNTIL '${until}'`);
  await adminQuery(
    `COMMENT ON ROLE "${name}" IS '${ownerComment({ ...currentLoadOwner(), pid, database: db })}'`,
  );
  return name;
}

describe("the sidecar's sweep of its own leftover load roles", () => {
  it('drops the unexpired role of a gone process of its host at start, and keeps a live one', async () => {
    // A process that ran here and ended: the maker of a load killed with its sidecar.
    const gonePid = spawnSync(process.execPath, [
      '-e',
      'process.stdout.write(String(process.pid))',
    ]).stdout.toString();
    const gone = await leftover('b0000001', Number(gonePid));
    const live = await leftover('b0000002', process.pid);
    // A load of another server's database sharing the cluster: that server's (or sidecar's) to sweep.
    const otherDatabase = await leftover('b0000003', Number(gonePid), `${database.name}_other`);

    sidecar = await startSidecarProcess({ dbUrl: database.url, directory });
    await until(
      'the sidecar to drop the leftover role',
      async () => ((await exists(gone)) ? undefined : true),
      45_000,
    );
    await until('the sidecar to log the drop', async () =>
      sidecar!.output().includes(`Dropped ${gone}`) ? true : undefined,
    );
    expect(sidecar.output()).toContain(`its process (pid ${gonePid}) is gone`);
    expect(await exists(live)).toBe(true);
    expect(await exists(otherDatabase)).toBe(true);
    expect(sidecar.output()).not.toContain(live);
    expect(sidecar.output()).not.toContain(otherDatabase);
  });
});
