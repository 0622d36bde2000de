// The slot dropped while pg_receivewal waits to start again. In a CI run the database server invalidated the slot
// right after capture started (its WAL sender ended, "terminating connection due to administrator command"); the
// guard dropped it while pg_receivewal sat in its 5 s wait, and capture never had a window again: the receiver streamed
// without a slot for good, and the new base backup was taken before any slot kept its WAL. Here the wait is made for
// real (pg_receivewal SIGKILLed) and WAL is written past max_held_wal inside it: after the drop, a new slot streams, a
// new base backup follows it, and the window reaches a write made after the drop.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  closePitrWorld,
  receiverPid,
  startPitrWorld,
  waitForWindow,
  type PitrWorld,
} from '../support/pitr-world';
import { until } from '../support/until';

const MB = 2 ** 20;
const CAP = 48 * MB;
let world: PitrWorld;

beforeAll(async () => {
  world = await startPitrWorld({ maxHeldWalBytes: CAP, slotCheckMs: 200 });
  await world.query('CREATE TABLE docs (id serial PRIMARY KEY, body text)');
  await waitForWindow(world, 110_000);
}, 150_000);

afterAll(() => closePitrWorld(world));

describe(
  'the replication slot dropped while pg_receivewal waits to start again',
  { timeout: 180_000 },
  () => {
    it('creates a new slot, takes the new base backup after it, and the window covers a later write', async () => {
      const dropped = () => world.logger.lines.filter((l) => l.includes('the slot was dropped so that'));
      const pid = await until('the pg_receivewal process', receiverPid);
      process.kill(pid, 'SIGKILL'); // it starts again in 5 s
      await until('pg_receivewal gone', async () => ((await receiverPid()) !== pid ? true : undefined));
      // Past the cap inside the wait: each switch adds a segment (16 MB) to what the slot holds back.
      for (let i = 0; i < 6 && dropped().length === 0; i += 1) {
        await world.query("INSERT INTO docs (body) VALUES ('while the receiver waits')");
        await world.query('SELECT pg_switch_wal()');
      }
      await until('the drop', async () => (dropped().length > 0 ? true : undefined), 10_000);
      const afterDrop = new Date().toISOString();
      const bases = (await world.catalog()).bases.length;
      await world.query("INSERT INTO docs (body) VALUES ('after the drop')");
      const written = new Date().toISOString();
      const catalog = await world.coveredUntil(written, 90_000);
      expect(catalog.bases.length).toBeGreaterThan(bases); // a new base backup after the drop
      expect(catalog.window!.earliest > afterDrop).toBe(true); // the window starts at it
      expect(world.logger.lines.filter((l) => /does not exist/.test(l))).toEqual([]);
      expect(dropped(), world.logger.lines.join('\n')).toHaveLength(1);
    });
  },
);
