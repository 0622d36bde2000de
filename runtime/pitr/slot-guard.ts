// Never fill the database server's disk. The slot's held-back WAL is read every check interval (250 ms by default,
// over one connection kept open: slot.ts), beside the capture loop so that sealing or a base backup never delays it.
// The slot is dropped at once, pg_receivewal ended first (the server may then remove that WAL), when it holds back
// more than max_held_wal, when the server already gave it up (wal_status = lost), or when it grew steadily over the
// last checks (never down, up at least twice) fast enough to pass the cap before the next check and the drop could
// come while pg_receivewal confirms nothing (its restart_lsn stands still: a stopped receiver during a write burst; a
// single jump, as a WAL switch makes until pg_receivewal confirms it, or a working receiver catching up, do not count;
// nor do the capture's own jumps: a base backup's two switches and the marked one after it come within a second,
// faster than a loaded pg_receivewal confirms them, and no rate is judged from them). Then, in the capture
// loop: what is complete is sealed, one error logged and notified, and capture starts again with a new slot and a new
// base backup, since the WAL in between is gone. What can still pass the cap: the WAL written in one check interval
// plus the drop's own time at the start of a burst (two ups are needed to trust a rate), or when the server is
// too loaded to answer the check in time; PostgreSQL's max_slot_wal_keep_size is the backstop (docs/pitr.md).
import { formatBytes } from '../../handlers/units';
import type { Clock } from '../../handlers/ports/clock';
import type { Logger } from '../../handlers/ports/logger';
import type { Notifier } from '../../handlers/ports/notifier';
import type { Receiver } from './receiver';
import { createSlotReader, dropSlot, readSlot, type SlotStatus } from './slot';

export interface SlotGuard {
  /** The last check's reading (after a release: the new slot's); null before the first. */
  status(): SlotStatus | null;
  /** Until `signal` ends: reads the slot every check interval and drops it at once when it holds back too much. */
  watch(signal: AbortSignal): Promise<void>;
  /** In the capture loop: after a drop, starts capture again (restart), logs the error and notifies. */
  check(): Promise<void>;
  /**
   * Runs the capture's own work that moves the WAL position in jumps (a base backup, a WAL switch): until it ends and
   * pg_receivewal had time to confirm, those jumps are not taken for a burst (no early drop; the cap still holds).
   */
  whileJumping<T>(work: () => Promise<T>): Promise<T>;
}

/** Time allowed from the reading that decides to the slot being gone (ending pg_receivewal, dropping the slot). */
const DROP_ALLOWANCE_MS = 500;
/** How many readings the rate is judged over (2 s at the default interval). */
const HISTORY = 8;

interface Drop {
  reason: string;
}

interface GuardOptions {
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
}

export function createSlotGuard(options: GuardOptions): SlotGuard {
  const { slot, capBytes, clock, logger } = options;
  const reader = createSlotReader(options.dbUrl, slot);
  let last: SlotStatus | null = null;
  let history: Reading[] = []; // the last readings
  let dropped: Drop | undefined;
  let [jumping, settledAt] = [0, -Infinity]; // the capture's own jumps in progress; when the last one ended

  /** Why the slot must go now (null: it may stay). */
  const verdict = (reading: SlotStatus, at: number): string | null => {
    if (!reading.exists) return null;
    if (reading.walStatus === 'lost')
      return `the database server gave up the replication slot ${slot} (wal_status lost, max_slot_wal_keep_size)`;
    const held = formatBytes(reading.heldBytes);
    if (reading.heldBytes > capBytes)
      return `the replication slot ${slot} held back ${held} of WAL, more than max_held_wal (${formatBytes(capBytes)}): pg_receivewal was not keeping up`;
    // No rate over the capture's own jumps (whileJumping): a base backup's switches are no burst.
    if (jumping > 0 || at - settledAt < 2 * options.checkMs + DROP_ALLOWANCE_MS) {
      history = [];
      return null;
    }
    history = [...history, { at, held: reading.heldBytes, restart: reading.restartLsn }].slice(-HISTORY);
    const perMs = burstRate(history, reading);
    if (perMs === null || reading.heldBytes + perMs * (options.checkMs + DROP_ALLOWANCE_MS) <= capBytes)
      return null;
    return `the replication slot ${slot} held back ${held} of WAL and grew by ${formatBytes(perMs * 1000)}/s, so it would have passed max_held_wal (${formatBytes(capBytes)}) before the next check: pg_receivewal was not keeping up`;
  };

  const readAndJudge = async () => {
    const reading = await reader.read(clock.now());
    last = reading;
    const reason = verdict(reading, clock.elapsedMs());
    if (reason === null) return;
    await options.receiver.pause();
    try {
      await dropSlot(options.dbUrl, slot);
    } catch (error) {
      options.receiver.resume(); // the slot is still there: keep streaming, the next check tries again
      throw error;
    }
    dropped = { reason };
  };

  return {
    status: () => last,
    async whileJumping(work) {
      jumping += 1;
      try {
        return await work();
      } finally {
        jumping -= 1;
        settledAt = clock.elapsedMs();
      }
    },
    async watch(signal) {
      let failed: string | undefined;
      while (!signal.aborted) {
        try {
          if (!dropped) await readAndJudge();
          failed = undefined;
        } catch (error) {
          const message = error instanceof Error ? error.message : String(error);
          if (message !== failed)
            logger.error(`Continuous protection: checking the replication slot failed: ${message}`);
          failed = message;
        }
        await clock.sleep(options.checkMs, signal);
      }
      await reader.close();
    },
    async check() {
      const drop = dropped;
      if (!drop) return;
      try {
        await options.restart();
      } finally {
        options.receiver.resume();
        history = [];
        dropped = undefined;
        announce(options, drop.reason); // the slot is gone whether the restart worked or is retried
      }
      last = await readSlot(options.dbUrl, slot, clock.now());
    },
  };
}

type Reading = { at: number; held: number; restart: string | null };

/**
 * The slot's growth rate (bytes/ms) when it grew steadily while pg_receivewal confirmed nothing; else null. A rate only
 * from steady growth since it last went down (a working receiver's confirmations bring it down): up at least twice,
 * measured from the reading before the first rise (not diluted by the quiet time before a burst). Only while
 * pg_receivewal confirms nothing: a working receiver catching up (after its start, a base backup or a switch) moves the
 * slot's restart_lsn, and only the cap itself applies to it.
 */
function burstRate(history: Reading[], reading: SlotStatus): number | null {
  const steps = history.slice(1).map((h, i) => h.held - history[i]!.held);
  const since = steps.findLastIndex((d) => d < 0) + 1; // the first step of the growth run
  const rise = steps.findIndex((d, i) => i >= since && d > 0);
  if (rise < 0 || steps.slice(since).filter((d) => d > 0).length < 2) return null;
  if (history.slice(rise).some((h) => h.restart !== reading.restartLsn)) return null;
  const first = history[rise]!;
  const last = history.at(-1)!;
  return (reading.heldBytes - first.held) / Math.max(1, last.at - first.at);
}

/** The one error line and notification of a drop. */
function announce(options: GuardOptions, reason: string): void {
  const suggestion =
    'Look for why pg_receivewal stopped or fell behind (the log lines before this one, the network, the backup disk). Capture started again with a new base backup; the restorable window restarts there.';
  options.logger.error(
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
}
