// rehearsal_failed caused for real on a server process and seen at a real local receiver: a backup made bad after it
// was made (bit rot: bytes overwritten, the size kept) fails its rehearsal; the next passed rehearsal is "recovered".
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNotifyWorld, stopNotifyWorld } from '../support/notify-world';
import type { NotifyMessage } from '../../runtime/notify/message';
import type { E2eWorld } from '../support/e2e-world';
import type { HttpReceiver } from '../support/notify-receivers';
import { until } from '../support/until';

describe('a rehearsal that fails', () => {
  let world: E2eWorld;
  let http: HttpReceiver;
  const arrival = (what: string, match: (m: NotifyMessage) => boolean) =>
    until(
      what,
      async () => http.received.map((r) => JSON.parse(r.body) as NotifyMessage).find(match),
      10_000,
    );

  beforeAll(async () => {
    ({ world, http } = await startNotifyWorld({ prefix: 'nr', notify: 'reminder = "1 hour"\n' }));
  }, 120_000);
  afterAll(() => stopNotifyWorld(world, http));

  it('tells of a rehearsal that fails on a backup made bad after it was made, within 10 s, then of the recovery', async () => {
    const created = await world.asAdmin('-o', 'raw', 'database-backup', 'create');
    const { file } = JSON.parse(created.stdout) as { file: string };
    // Bit rot: bytes in the middle overwritten, the size kept. The signed manifest still lists it as trusted (list
    // reads manifests and sizes only), so the rehearsal picks it and must fail restoring it.
    const path = join(world.backups, file);
    const bytes = readFileSync(path);
    bytes.fill(0x55, Math.floor(bytes.length / 3), Math.floor((2 * bytes.length) / 3));
    writeFileSync(path, bytes);
    const rehearsed = await world.asAdmin('database-backup', 'rehearse', '--file', file);
    expect(rehearsed.code).toBe(1);
    const failedAt = Date.now();
    const failed = await arrival('rehearsal_failed', (m) => m.event === 'rehearsal_failed');
    expect(Date.now() - failedAt).toBeLessThan(10_000);
    expect(failed).toMatchObject({
      state: 'problem',
      severity: 'critical',
      database: world.db.name,
      backup: file,
    });
    expect(failed.reason).toMatch(/^The backup could not be restored in full into the standby: \S/);
    expect(failed.reason).toContain('checksum mismatch');

    const good = await world.asAdmin('-o', 'raw', 'database-backup', 'create');
    const goodFile = (JSON.parse(good.stdout) as { file: string }).file;
    expect((await world.asAdmin('database-backup', 'rehearse', '--file', goodFile)).code).toBe(0);
    const recovered = await arrival(
      'rehearsal recovered',
      (m) => m.event === 'rehearsal_failed' && m.state === 'recovered',
    );
    expect(recovered.reason).toBe(`The rehearsal of '${goodFile}' passed.`);
  });
});
