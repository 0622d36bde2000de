// The notifications' parts, built once in runtime/deps.ts: the outbox store, the notifier the use cases call, the
// delivery loop the Node server starts, and `notify-test`.
import type { Clock } from '../../handlers/ports/clock';
import type { Logger } from '../../handlers/ports/logger';
import type { Config } from '../config/types';
import type { DbHandle } from '../db/handle';
import { createNotifyStore, type NotifyStore } from '../db/notify-store';
import { createDelivery, type Delivery } from './delivery';
import { createNotifier, type RunningNotifier } from './notifier';
import { send as realSend, type Send } from './send';
import { pingHeartbeat } from './heartbeat';
import { sendTestMessages, type TestResult } from './test-message';

export interface NotifyModule {
  store: NotifyStore;
  notifier: RunningNotifier;
  delivery: Delivery;
  /** `database-backup notify-test`: one message to every channel now, past the outbox; the result per channel. */
  test(user: string): Promise<TestResult[]>;
  stop(): Promise<void>;
}

export function createNotifyModule(deps: {
  db: DbHandle;
  config: () => Config;
  clock: Clock;
  logger: Logger;
  send?: Send;
  pollMs?: number;
}): NotifyModule {
  const { config, clock, logger } = deps;
  const send = deps.send ?? realSend;
  const channels = () => config().notify;
  const store = createNotifyStore(deps.db);
  const delivery = createDelivery({ store, channels, send, clock, logger, pollMs: deps.pollMs });
  const notifier = createNotifier({
    store,
    channels,
    server: () => config().domain ?? null,
    clock,
    logger,
    wake: () => delivery.wake(),
    heartbeatUrl: () => config().databaseBackup?.heartbeatUrl ?? null,
    ping: pingHeartbeat,
  });
  return {
    store,
    notifier,
    delivery,
    test: (user) =>
      sendTestMessages({ channels: channels(), send, server: config().domain ?? null, clock, logger, user }),
    async stop() {
      await notifier.settled();
      await delivery.stop();
    },
  };
}
