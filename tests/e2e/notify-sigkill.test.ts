// Zero lost notifications across a SIGKILL: messages made pending for real (the receiver is down, the backup
// directory is a file, so backups cannot run at start and the start-up backup fails), the server killed with SIGKILL while they
// wait in the outbox, then started again with the receiver up: every message that waited arrives, each exactly once.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NotifyMessage } from '../../runtime/notify/message';
import { adminQuery, createTestDatabase, type TestDatabase } from '../support/pg';
import { startHttpReceiver, type HttpReceiver } from '../support/notify-receivers';
import { startListening, writeConfig, type ServerProcess } from '../support/server-process';
import { until } from '../support/until';

describe('notifications across a SIGKILL', () => {
  let db: TestDatabase;
  let receiver: HttpReceiver | undefined;
  let server: ServerProcess | undefined;

  beforeAll(async () => {
    db = await createTestDatabase('e2e_nk9');
  });
  afterAll(async () => {
    await server?.stop('SIGKILL');
    await receiver?.close();
    await db?.drop();
  });

  it('sends every message that was pending when the server was killed, once each, after the restart', async () => {
    // A port that refuses connections now and takes them after the restart.
    const probe = await startHttpReceiver();
    const port = Number(new URL(probe.url).port);
    await probe.close();
    const notAFolder = join(mkdtempSync(join(tmpdir(), 'bomnipotent-e2e-nk9-')), 'backups');
    writeFileSync(notAFolder, 'not a directory');
    const configPath = writeConfig(
      `db_url = "${db.url}"\nhttp_port = 0\n[[tasks]]\nname = "database_backup"\n` +
        `directory = "${notAFolder}"\nperiod = "1 hour"\nscheduled = true\n` +
        `[[notify]]\nurl = "http://127.0.0.1:${port}/a"\n[[notify]]\nurl = "http://127.0.0.1:${port}/b"\n`,
    );
    type Waiting = { id: string; channel: string; event: string; attempts: number };
    const outbox = async () =>
      (
        await adminQuery<Waiting>(
          `SELECT message->>'id' AS id, channel, message->>'event' AS event, attempts FROM notify_outbox`,
          [],
          db.name,
        )
      ).rows;

    server = await startListening(configPath);
    // Pending for real: each queued message has been tried at least once and refused by the closed port.
    const pending = await until(
      'messages tried and waiting',
      async () => {
        const rows = await outbox();
        const kinds = new Set(rows.map((r) => r.event));
        const ready =
          ['backup_failed', 'startup_unusable'].every((k) => kinds.has(k)) &&
          rows.every((r) => r.attempts >= 1);
        return ready ? rows : undefined;
      },
      60_000,
    );
    expect(server.output()).toMatch(/Notification \S+ \(\w+\) to .* failed \(attempt 1\)/);
    expect(server.output()).not.toMatch(/Sent notification/);
    expect(new Set(pending.map((r) => r.channel)).size).toBe(2);

    expect(await server.stop('SIGKILL')).toBeNull();
    receiver = await startHttpReceiver(port);
    server = await startListening(configPath);

    const arrived = () =>
      receiver!.received.map((r) => ({ path: r.path, ...(JSON.parse(r.body) as NotifyMessage) }));
    // The longest wait is the backoff of a message tried twice before the kill (10 s), plus the load's slack.
    await until(
      'every pending message at the receiver',
      async () => {
        const ids = new Set(arrived().map((m) => m.id));
        return pending.every((p) => ids.has(p.id)) ? true : undefined;
      },
      60_000,
    );
    // Nothing left to send: no later retry can bring a second copy.
    await until('an empty outbox', async () => ((await outbox()).length === 0 ? true : undefined), 30_000);
    // Exactly once per channel and message id (a one-off event has one id for every channel).
    const copies = new Map<string, number>();
    for (const m of arrived()) copies.set(`${m.path} ${m.id}`, (copies.get(`${m.path} ${m.id}`) ?? 0) + 1);
    expect([...copies.entries()].filter(([, n]) => n !== 1)).toEqual([]);
    // Each channel got its own copy of each event: /a and /b.
    for (const p of pending) {
      const m = arrived().find((a) => a.id === p.id)!;
      expect(m.event).toBe(p.event);
    }
    expect(new Set(arrived().map((m) => m.path))).toEqual(new Set(['/a', '/b']));
    // The problems stay open across the restart: the new process did not tell them a second time.
    expect(arrived().filter((m) => m.event === 'backup_failed' && m.state === 'problem')).toHaveLength(2);
  }, 180_000);
});
