// Continuous protection that cannot start, for real: the capture's role lacks the REPLICATION attribute. The server
// says exactly what is missing, once (not at every retry), and tries again; once an administrator grants it, capture
// starts without a restart of the server and a window appears. Closing segments needs a grant in the maintenance
// database, which the warning names.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closePitrWorld, startPitrWorld, type PitrWorld, waitForWindow } from '../support/pitr-world';
import { until } from '../support/until';

let world: PitrWorld;

beforeAll(async () => {
  world = await startPitrWorld({ captureRole: 'capturer', retryMs: 300 });
});

afterAll(() => closePitrWorld(world));

describe('continuous protection that cannot start', { timeout: 180_000 }, () => {
  it('names the missing REPLICATION attribute once, and starts once it is granted', async () => {
    const off = (l: string) => l.startsWith('[ERROR] Continuous protection is off:');
    await until('the line that says why', async () => (world.logger.lines.some(off) ? true : undefined));
    expect(world.logger.lines.find(off)).toBe(
      '[ERROR] Continuous protection is off: Continuous protection needs the REPLICATION attribute for the role capturer; it lacks it. Run ALTER ROLE "capturer" REPLICATION; as a superuser, and add a pg_hba.conf line for the replication pseudo-database (docs/pitr.md). Logical backups go on; capture is tried again every 300 ms.',
    );
    // Several retries later, still one line.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(world.logger.lines.filter(off)).toHaveLength(1);
    expect((await world.catalog()).window).toBeNull();

    await world.query('ALTER ROLE capturer REPLICATION');
    // Streaming starts; closing segments needs the grant, in the maintenance database (a grant in 'app' would be in
    // its dumps, which a role that is not a superuser cannot restore): the warning says so.
    const switchFailed = (l: string) => l.startsWith('[WARN] Continuous protection: the WAL switch failed:');
    await until('the WAL switch warning', async () =>
      world.logger.lines.some(switchFailed) ? true : undefined,
    );
    expect(world.logger.lines.find(switchFailed)).toContain(
      'Run GRANT EXECUTE ON FUNCTION pg_switch_wal() TO "capturer"; as a superuser in the database postgres (psql -d postgres)',
    );
    const maintenance = new pg.Client({ connectionString: world.cluster.superuserUrl() });
    await maintenance.connect();
    await maintenance.query('GRANT EXECUTE ON FUNCTION pg_switch_wal() TO capturer');
    await maintenance.end();
    await world.query('CREATE TABLE docs (id serial PRIMARY KEY, body text)');
    await waitForWindow(world, 150_000);
    await world.query("INSERT INTO docs (body) VALUES ('after the grant')");
    const covered = await world.coveredUntil(new Date().toISOString(), 150_000);
    expect(covered.problem).toBeNull();
    expect(world.logger.lines.filter(off)).toHaveLength(1);
    expect(world.logger.lines.some((l) => l.includes('streaming the WAL of'))).toBe(true);
  });
});
