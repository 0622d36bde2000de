// The outbox on real PostgreSQL with a real receiver: one message per problem, reminders, "recovered", filters,
// retries after a 500, one delivery between two replicas, and messages queued by a stopped server sent by the next.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Logger } from '../../handlers/ports/logger';
import type { NotifyEvent } from '../../handlers/ports/notifier';
import type { Config } from '../../runtime/config/types';
import { createDbHandle, type DbHandle } from '../../runtime/db/handle';
import { migrate } from '../../runtime/db/migrate';
import { createNotifyModule, type NotifyModule } from '../../runtime/notify/module';
import type { NotifyMessage } from '../../runtime/notify/message';
import { silentLogger } from '../../runtime/observability/logger';
import { systemClock } from '../../runtime/observability/system-clock';
import { testConfig } from '../support/config-fixture';
import { channelsOf, startHttpReceiver, type HttpReceiver } from '../support/notify-receivers';
import { createTestDatabase, type TestDatabase } from '../support/pg';
import { recordingLogger } from '../support/recording-logger';
import { until } from '../support/until';

const failed: NotifyEvent = {
  kind: 'backup_failed',
  severity: 'critical',
  database: 'bomnipotent',
  backup: null,
  reason: 'The backup failed: pg_dump exited with 1.',
  suggestion: null,
};

let database: TestDatabase;
let db: DbHandle;
let http: HttpReceiver;
const modules: NotifyModule[] = [];

beforeAll(async () => {
  database = await createTestDatabase('notify');
  db = createDbHandle(database.url, { max: 4 });
  await migrate(db.pool(), silentLogger());
  http = await startHttpReceiver();
});
afterEach(async () => {
  for (const module of modules.splice(0)) await module.stop();
  await db.query('TRUNCATE notify_outbox, notify_problems');
  http.received.length = 0;
  http.answer = { status: 200, delayMs: 0 };
});
afterAll(async () => {
  await http.close();
  await db.close();
  await database.drop();
});

function startModule(notify: string, logger: Logger = silentLogger()): NotifyModule {
  const config: Config = testConfig({ domain: 'bom.example.com', notify: channelsOf(notify) });
  const module = createNotifyModule({ db, config: () => config, clock: systemClock(), logger, pollMs: 100 });
  module.delivery.start();
  modules.push(module);
  return module;
}

const messages = () => http.received.map((r) => JSON.parse(r.body) as NotifyMessage);
const arrived = (count: number) =>
  until(`${count} message(s) at the receiver`, async () =>
    http.received.length >= count ? messages() : undefined,
  );
/** Everything handed over is queued and nothing waits in the outbox. */
const drained = async (module: NotifyModule) => {
  await module.notifier.settled();
  await until('an empty outbox', async () => ((await module.store.pending()) === 0 ? true : undefined));
};

describe('one message per problem', () => {
  it('without any [[notify]] channel a problem is still open for the status page until it recovers', async () => {
    const module = startModule('');
    module.notifier.problem('backup_failed:bomnipotent', failed);
    await module.notifier.settled();
    const open = await module.store.openProblems();
    expect(open).toEqual([
      expect.objectContaining({
        problem: 'backup_failed:bomnipotent',
        message: expect.objectContaining({ event: 'backup_failed', reason: failed.reason }),
      }),
    ]);
    expect(await module.store.pending()).toBe(0); // nothing to send
    module.notifier.resolved('backup_failed:bomnipotent', {
      ...failed,
      severity: 'info',
      reason: 'ok again',
    });
    await module.notifier.settled();
    expect(await module.store.openProblems()).toEqual([]);
    expect(http.received).toHaveLength(0);
  });

  it('sends the first failure, stays quiet on repeats, reminds after the interval, then says recovered', async () => {
    const module = startModule(`[[notify]]\nurl = "${http.url}/hook"\nreminder = "2 s"\n`);
    module.notifier.problem('backup_failed:bomnipotent', failed);
    const [first] = await arrived(1);
    expect(first).toMatchObject({
      version: 1,
      event: 'backup_failed',
      state: 'problem',
      severity: 'critical',
    });
    expect(first).toMatchObject({ server: 'bom.example.com', database: 'bomnipotent' });

    module.notifier.problem('backup_failed:bomnipotent', failed);
    await drained(module);
    expect(http.received).toHaveLength(1);

    await new Promise((r) => setTimeout(r, 2100));
    module.notifier.problem('backup_failed:bomnipotent', failed);
    const [, reminder] = await arrived(2);
    expect(reminder!.state).toBe('reminder');

    module.notifier.resolved('backup_failed:bomnipotent', {
      ...failed,
      severity: 'info',
      reason: 'ok again',
    });
    const [, , recovered] = await arrived(3);
    expect(recovered).toMatchObject({ state: 'recovered', severity: 'info', event: 'backup_failed' });
    expect(new Set(messages().map((m) => m.id)).size).toBe(3);

    module.notifier.resolved('backup_failed:bomnipotent', {
      ...failed,
      severity: 'info',
      reason: 'ok again',
    });
    await drained(module);
    expect(http.received).toHaveLength(3);
  });

  it('leaves out what a channel filters: events not named, severities below min_severity', async () => {
    const module = startModule(
      `[[notify]]\nurl = "${http.url}/restores"\nevents = ["restore_started"]\n` +
        `[[notify]]\nurl = "${http.url}/critical"\nmin_severity = "critical"\n`,
    );
    module.notifier.problem('backup_failed:bomnipotent', failed);
    module.notifier.event({
      ...failed,
      kind: 'restore_started',
      severity: 'warning',
      reason: 'a restore began',
    });
    await arrived(2);
    await drained(module);
    expect(http.received.map((r) => r.path).sort()).toEqual(['/critical', '/restores']);
    expect(messages().find((m) => m.event === 'restore_started')).toBeDefined();
  });
});

describe('delivery', () => {
  it('retries a receiver that answered 500, logging each failed attempt, until it takes the message', async () => {
    const logger = recordingLogger();
    http.answer = { status: 500, delayMs: 0 };
    const module = startModule(`[[notify]]\nurl = "${http.url}/hook"\n`, logger);
    module.notifier.event({ ...failed, kind: 'restore_failed' });
    await until('a logged failed attempt', async () =>
      logger.lines.find((l) =>
        /^\[WARN\] Notification .* failed \(attempt 1\): .* answered HTTP 500; next attempt in/.test(l),
      ),
    );
    http.answer = { status: 200, delayMs: 0 };
    const [message] = await arrived(1);
    expect(message!.event).toBe('restore_failed');
    await drained(module);
  });

  it('two replicas on one database send each message once', async () => {
    const notify = `[[notify]]\nurl = "${http.url}/hook"\n`;
    const a = startModule(notify);
    const b = startModule(notify);
    for (let i = 0; i < 10; i++)
      (i % 2 ? a : b).notifier.event({ ...failed, kind: 'restore_started', reason: `#${i}` });
    await arrived(10);
    await drained(a);
    await drained(b);
    expect(http.received).toHaveLength(10);
    expect(new Set(messages().map((m) => m.id)).size).toBe(10);
  });

  it('keeps what a stopped server could not send; the next one sends it', async () => {
    const down = await startHttpReceiver();
    const url = down.url;
    await down.close();
    const first = startModule(`[[notify]]\nurl = "${url}/hook"\n`);
    first.notifier.event({ ...failed, kind: 'restore_succeeded', reason: 'kept' });
    await first.notifier.settled();
    await until('a failed attempt', async () => {
      const { rows } = await db.query<{ attempts: number }>('SELECT attempts FROM notify_outbox');
      return rows[0] && rows[0].attempts >= 1 ? true : undefined;
    });
    await first.stop();
    const back = await startHttpReceiver(Number(new URL(url).port));
    try {
      startModule(`[[notify]]\nurl = "${url}/hook"\n`);
      await until(
        'the kept message',
        async () => (back.received.length > 0 ? back.received : undefined),
        30_000,
      );
      expect((JSON.parse(back.received[0]!.body) as NotifyMessage).reason).toBe('kept');
    } finally {
      await back.close();
    }
  });
});
