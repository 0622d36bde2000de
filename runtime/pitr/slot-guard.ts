// Never fill the database server's disk: every check interval the slot's held-back WAL is read; past max_held_wal
// (or when the server already gave the slot up, wal_status = lost) pg_receivewal is ended, the slot dropped (the
// server may then remove that WAL), one error logged and notified, and capture starts again: a new slot, and a new
// base backup, since the WAL in between is gone.
import { formatBytes } from '../../handlers/units';
import type { Clock } from '../../handlers/ports/clock';
import type { Logger } from '../../handlers/ports/logger';
import type { Notifier } from '../../handlers/ports/notifier';
import type { Receiver } from './receiver';
import { dropSlot, readSlot, type SlotStatus } from './slot';

export interface SlotGuard {
  /** The last completed check's reading (after a release: the new slot's); null before the first. */
  status(): SlotStatus | null;
  /** Reads the slot when a check is due and releases it when it holds back too much. */
  check(): Promise<void>;
}

export function createSlotGuard(options: {
  dbUrl: string;
  slot: string;
  capBytes: number;
  checkMs: number;
  database: string;
  receiver: Receiver;
  clock: Clock;
  logger: Logger;
  notifier?: Notifier | undefined;
  /** After the drop, before the receiver starts again: seal what is complete, drop the partial segment, new base. */
  restart(): Promise<void>;
}): SlotGuard {
  const { slot, capBytes, clock, logger } = options;
  let last: SlotStatus | null = null;
  let checkedAt = -Infinity;

  const release = async (held: SlotStatus) => {
    const reason =
      held.walStatus === 'lost'
        ? `the database server gave up the replication slot ${slot} (wal_status lost, max_slot_wal_keep_size)`
        : `the replication slot ${slot} held back ${formatBytes(held.heldBytes)} of WAL, more than max_held_wal (${formatBytes(capBytes)}): pg_receivewal was not keeping up`;
    await options.receiver.pause();
    try {
      await dropSlot(options.dbUrl, slot);
      await options.restart();
    } finally {
      options.receiver.resume();
    }
    const suggestion =
      'Look for why pg_receivewal stopped or fell behind (the log lines before this one, the network, the backup disk). Capture started again with a new base backup; the restorable window restarts there.';
    logger.error(
      `Continuous protection: ${reason}; the slot was dropped so that the database server's disk cannot fill up, and the WAL after the last sealed segment is not kept. ${suggestion}`,
    );
    options.notifier?.event({
      kind: 'pitr_slot_released',
      severity: 'critical',
      database: options.database,
      backup: null,
      reason: `Continuous protection: ${reason}; the slot was dropped.`,
      suggestion,
    });
  };

  return {
    status: () => last,
    async check() {
      if (clock.elapsedMs() - checkedAt < options.checkMs) return;
      checkedAt = clock.elapsedMs();
      const reading = await readSlot(options.dbUrl, slot, clock.now());
      if (reading.exists && (reading.heldBytes > capBytes || reading.walStatus === 'lost')) {
        await release(reading);
        last = await readSlot(options.dbUrl, slot, clock.now());
      } else last = reading;
    },
  };
}
