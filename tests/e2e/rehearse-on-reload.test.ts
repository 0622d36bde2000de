// `rehearse = true` turned on by a hot reload: the newest backup is queued for its rehearsal at once, and the log
// says which one, instead of waiting up to a period for the next scheduled run.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startE2eWorld, type E2eWorld } from '../support/e2e-world';

describe('rehearse turned on by a reload', () => {
  let world: E2eWorld;

  beforeAll(async () => {
    // A long period: only the run at start happens, so nothing but the reload can queue the rehearsal.
    world = await startE2eWorld({
      prefix: 'rhon',
      task: 'period = "7 days"\n',
      ready: { line: /Stored database backup/i, timeoutMs: 60_000 },
    });
  }, 120_000);
  afterAll(async () => {
    await world?.stop();
  });

  it('queues the newest backup at once and rehearses it', async () => {
    expect(world.server.output()).not.toContain('Rehearsal of backup');
    await world.reloaded(`${world.baseConfig}rehearse = true\n`, 1);
    const queued = await world.server.waitFor(
      /rehearse is on: queued the rehearsal of the newest backup '([^']+)'\./,
      30_000,
    );
    const file = queued[1]!;
    await world.server.waitFor(new RegExp(`Rehearsal of backup '${file}' passed`), 60_000);

    // Reloaded again with rehearse still on: nothing is queued twice.
    await world.reloaded(`${world.baseConfig}rehearse = true\n# touched\n`, 2);
    expect(world.server.output().match(/rehearse is on: queued/g)).toHaveLength(1);
  }, 120_000);
});
