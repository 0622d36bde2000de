// The Notifier port over the outbox: decides per channel what to queue (filters, one message per problem, reminders,
// "recovered"), queues it, and wakes the delivery. Never throws into a use case and never waits for a receiver.
import { randomUUID } from 'node:crypto';
import type { Clock } from '../../handlers/ports/clock';
import type { Logger } from '../../handlers/ports/logger';
import type { NotifyEvent, Notifier } from '../../handlers/ports/notifier';
import type { NotifyStore } from '../db/notify-store';
import type { NotifyChannel } from './channel';
import { atLeast, toMessage, type MessageState, type NotifyMessage } from './message';

/** How long a message is retried before it is given up (and logged as lost). */
export const EXPIRE_AFTER_MS = 24 * 3600_000;

export interface NotifierDeps {
  store: NotifyStore;
  channels: () => readonly NotifyChannel[];
  server: () => string | null;
  clock: Clock;
  logger: Logger;
  /** Called after something was queued: the delivery looks at once instead of at its next poll. */
  wake: () => void;
  /** The database_backup task's heartbeat_url now (hot reload), or null. */
  heartbeatUrl: () => string | null;
  ping: (url: string, state: 'start' | 'success' | 'fail', reason: string | null) => Promise<void>;
}

export interface RunningNotifier extends Notifier {
  /** Resolves when everything handed over so far is queued (tests, shutdown). */
  settled(): Promise<void>;
}

/** Work handed over and not done yet: the queueing of messages, and everything (heartbeat pings too). */
function pendingWork() {
  const all = new Set<Promise<void>>();
  const queueing = new Set<Promise<void>>();
  const add = (done: Promise<void>, isQueueing: boolean) => {
    all.add(done);
    if (isQueueing) queueing.add(done);
    void done.finally(() => {
      all.delete(done);
      queueing.delete(done);
    });
  };
  const drain = async (set: Set<Promise<void>>) => {
    while (set.size > 0) await Promise.all([...set]);
  };
  return { add, queued: () => drain(queueing), settled: () => drain(all) };
}

/** The notify_problems row that keeps a problem open for the status page: no channel has this id (theirs are hashes). */
export const STATUS_ONLY = '(status)';

export function createNotifier(deps: NotifierDeps): RunningNotifier {
  const pending = pendingWork();
  const track = (what: string, work: () => Promise<void>) => {
    const done = work()
      .then(() => deps.wake())
      .catch((error: unknown) =>
        deps.logger.error(
          `Could not queue the notification (${what}): ${error instanceof Error ? error.message : String(error)}`,
        ),
      );
    pending.add(done, true);
  };
  const message = (event: NotifyEvent, state: MessageState): NotifyMessage =>
    toMessage(event, state, { id: randomUUID(), server: deps.server(), at: deps.clock.now() });
  const wants = (channel: NotifyChannel, event: NotifyEvent) =>
    atLeast(event.severity, channel.minSeverity) && (channel.events?.includes(event.kind) ?? true);

  return {
    problem(key, event) {
      track(event.kind, async () => {
        const rows: { channel: string; message: NotifyMessage }[] = [];
        for (const channel of deps.channels().filter((c) => wants(c, event))) {
          const first = message(event, 'problem');
          const step = await deps.store.problemStep(channel.id, key, first, channel.reminderMs);
          if (step === 'problem') rows.push({ channel: channel.id, message: first });
          if (step === 'reminder')
            rows.push({ channel: channel.id, message: { ...first, state: 'reminder' } });
          if (step === 'quiet')
            deps.logger.debug(`Not notifying ${channel.label} again of ${key}: it was told.`);
        }
        // Kept open for the status page as well, with or without any channel (nothing is sent for this row).
        await deps.store.problemStep(STATUS_ONLY, key, message(event, 'problem'), 0);
        await deps.store.enqueue(rows, EXPIRE_AFTER_MS);
      });
    },
    resolved(key, event) {
      track(`${event.kind} recovered`, async () => {
        const told = new Set(await deps.store.resolve(key));
        if (told.size === 0) return;
        const recovered = message(event, 'recovered');
        const rows = deps
          .channels()
          .filter((c) => told.has(c.id))
          .map((c) => ({ channel: c.id, message: recovered }));
        await deps.store.enqueue(rows, EXPIRE_AFTER_MS);
      });
    },
    event(event) {
      track(event.kind, async () => {
        const one = message(event, 'event');
        const rows = deps
          .channels()
          .filter((c) => wants(c, event))
          .map((c) => ({ channel: c.id, message: one }));
        await deps.store.enqueue(rows, EXPIRE_AFTER_MS);
      });
    },
    heartbeat(state, reason) {
      const url = deps.heartbeatUrl();
      if (url === null) return;
      // Straight to the monitor, not through the outbox: a late "success" would tell it a lie about now.
      const done = deps
        .ping(url, state, reason)
        .catch((error: unknown) =>
          deps.logger.warn(
            `The heartbeat (${state}) did not reach the monitor: ${error instanceof Error ? error.message : String(error)}`,
          ),
        );
      pending.add(done, false);
    },
    queued: pending.queued,
    settled: pending.settled,
  };
}
