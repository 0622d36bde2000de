// The outbox's sender: claims due messages (one replica each), sends them with the channel's timeout, retries with
// backoff until they expire. Runs beside the scheduler; nothing it does can block or fail a backup or a restore.
import type { Clock } from '../../handlers/ports/clock';
import type { Logger } from '../../handlers/ports/logger';
import { formatDuration } from '../../handlers/units';
import type { NotifyStore, OutboxRow } from '../db/notify-store';
import type { NotifyChannel } from './channel';
import type { Send } from './send';

export interface DeliveryDeps {
  store: NotifyStore;
  channels: () => readonly NotifyChannel[];
  send: Send;
  clock: Clock;
  logger: Logger;
  /** How often the outbox is looked at without a wake-up (other replicas' messages, retries); 2 s unless told. */
  pollMs?: number;
}

export interface Delivery {
  start(): void;
  /** Look now (something was queued). */
  wake(): void;
  stop(): Promise<void>;
}

/** 5 s, 10 s, 20 s ... at most 10 minutes between attempts. */
export function backoffMs(attempts: number): number {
  return Math.min(5000 * 2 ** Math.max(0, attempts - 1), 10 * 60_000);
}

const BATCH = 20;

export function createDelivery(deps: DeliveryDeps): Delivery {
  const pollMs = deps.pollMs ?? 2000;
  let stopper: AbortController | null = null;
  let loop: Promise<void> | null = null;
  let woken = false;
  let nap: AbortController | null = null;

  const deliver = async (row: OutboxRow, channel: NotifyChannel | undefined): Promise<void> => {
    if (!channel) {
      deps.logger.info(
        `Dropped notification ${row.message.id}: its [[notify]] table is no longer configured.`,
      );
      return deps.store.drop(row.id);
    }
    try {
      await deps.send(channel, row.message);
      deps.logger.info(`Sent notification ${row.message.id} (${row.message.event}) to ${channel.label}.`);
      await deps.store.delivered(row.id);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      if (row.expired) {
        deps.logger.error(
          `Gave up notification ${row.message.id} (${row.message.event}) to ${channel.label} after ${row.attempts} attempt(s): ${reason}`,
        );
        return deps.store.drop(row.id);
      }
      const retry = backoffMs(row.attempts);
      deps.logger.warn(
        `Notification ${row.message.id} (${row.message.event}) to ${channel.label} failed (attempt ${row.attempts}): ${reason}; next attempt in ${formatDuration(retry)}.`,
      );
      await deps.store.failed(row.id, reason, retry);
    }
  };

  const round = async (): Promise<number> => {
    const channels = deps.channels();
    // Leased for the longest timeout and a margin: a replica killed mid-send leaves them to another after that.
    const leaseMs = Math.max(0, ...channels.map((c) => c.timeoutMs)) * 2 + 5000;
    const rows = await deps.store.claim(BATCH, leaseMs);
    await Promise.all(
      rows.map((row) =>
        deliver(
          row,
          channels.find((c) => c.id === row.channel),
        ),
      ),
    );
    return rows.length;
  };

  const run = async (signal: AbortSignal) => {
    while (!signal.aborted) {
      woken = false;
      let claimed = 0;
      try {
        claimed = await round();
      } catch (error) {
        deps.logger.debug(`Notification delivery: ${error instanceof Error ? error.message : String(error)}`);
      }
      if (claimed > 0 || woken) continue;
      nap = new AbortController();
      const onStop = () => nap?.abort();
      signal.addEventListener('abort', onStop, { once: true });
      await deps.clock.sleep(pollMs, nap.signal);
      signal.removeEventListener('abort', onStop);
    }
  };

  return {
    start() {
      if (loop) return;
      stopper = new AbortController();
      loop = run(stopper.signal);
    },
    wake() {
      woken = true;
      nap?.abort();
    },
    async stop() {
      stopper?.abort();
      await loop;
      loop = null;
    },
  };
}
