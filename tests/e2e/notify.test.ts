// Notifications as an administrator meets them: a server process with a [[notify]] webhook, a real local receiver,
// a backup that fails for real (its directory replaced by a file), the fix, `database-backup notify-test`, and a
// channel added by a hot reload.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNotifyWorld, stopNotifyWorld } from '../support/notify-world';
import type { NotifyMessage } from '../../runtime/notify/message';
import type { E2eWorld } from '../support/e2e-world';
import type { HttpReceiver } from '../support/notify-receivers';
import { until } from '../support/until';

describe('notifications through the server', () => {
  let world: E2eWorld;
  let http: HttpReceiver;
  const messages = () => http.received.map((r) => JSON.parse(r.body) as NotifyMessage);
  const arrival = (what: string, match: (m: NotifyMessage) => boolean, timeoutMs: number) =>
    until(what, async () => messages().find(match), timeoutMs);

  beforeAll(async () => {
    const notify = 'secret = "${HOOK_SECRET}"\n';
    ({ world, http } = await startNotifyWorld({
      prefix: 'nt',
      notify,
      env: { HOOK_SECRET: 'e2e-hook-secret' },
    }));
  }, 120_000);
  afterAll(() => stopNotifyWorld(world, http));

  it('tells of a failed backup within 10 s, once, and of the recovery after the next good one', async () => {
    rmSync(world.backups, { recursive: true, force: true });
    writeFileSync(world.backups, 'not a directory');
    for (let i = 0; i < 2; i++) {
      const failed = await world.asAdmin('database-backup', 'create');
      expect(failed.code).toBe(1);
    }
    const failedAt = Date.now();
    const problem = await arrival('backup_failed', (m) => m.event === 'backup_failed', 10_000);
    expect(Date.now() - failedAt).toBeLessThan(10_000);
    expect(problem).toMatchObject({
      version: 1,
      state: 'problem',
      severity: 'critical',
      database: world.db.name,
    });
    expect(problem.reason).toMatch(/^The backup failed: /);
    expect(http.received[0]!.headers['x-bomnipotent-signature']).toMatch(/^sha256=[0-9a-f]{64}$/);

    rmSync(world.backups, { force: true });
    mkdirSync(world.backups);
    const created = await world.asAdmin('database-backup', 'create');
    expect(created.code).toBe(0);
    const recovered = await arrival('recovered', (m) => m.state === 'recovered', 10_000);
    expect(recovered).toMatchObject({ event: 'backup_failed', severity: 'info' });
    // Two failures, one message: the second run was within the reminder interval.
    expect(
      messages()
        .filter((m) => m.event === 'backup_failed')
        .map((m) => m.state),
    ).toEqual(['problem', 'recovered']);
    expect(world.server.output()).not.toContain('e2e-hook-secret');
  });

  it('notify-test sends a test message to every channel and prints each result', async () => {
    const tested = await world.asAdmin('database-backup', 'notify-test');
    expect(tested.code).toBe(0);
    expect(tested.stdout).toContain('[INFO] All 1 channel(s) took the test message.');
    expect(tested.stdout).toMatch(/✓ \[\[notify\]\] #1 \(webhook, 127\.0\.0\.1:\d+\)/);
    const test = await arrival('test', (m) => m.event === 'test', 5000);
    expect(test.user).toBe('admin@example.com');

    http.answer = { status: 500, delayMs: 0 };
    try {
      const refused = await world.asAdmin('database-backup', 'notify-test');
      expect(refused.code).toBe(1);
      expect(refused.stdout).toMatch(
        /✗ \[\[notify\]\] #1 \(webhook, 127\.0\.0\.1:\d+\): 127\.0\.0\.1:\d+ answered HTTP 500/,
      );
    } finally {
      http.answer = { status: 200, delayMs: 0 };
    }
  });

  it('takes a [[notify]] table added to config.toml without a restart (hot reload)', async () => {
    await world.reloaded(`${world.baseConfig}[[notify]]\nurl = "${http.url}/second"\n`, 3);
    const tested = await world.asAdmin('database-backup', 'notify-test');
    expect(tested.code).toBe(0);
    expect(tested.stdout).toContain('[INFO] All 2 channel(s) took the test message.');
    await until('the new channel', async () => http.received.find((r) => r.path === '/second'), 5000);
  });
});
