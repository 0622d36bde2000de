// Counters per key (a client address) in fixed windows, in a table of bounded size: memory stays flat under a flood
// of distinct addresses, and every operation is O(1) amortized (no sweep over the whole table).

export interface WindowCounter {
  windowStart: number;
  count: number;
}

export interface WindowTable {
  /** The counter of key in the window that contains now, created or restarted as needed; counted once. */
  count(key: string, now: number, periodMs: number): WindowCounter;
  size(): number;
}

/**
 * A FIFO of (key, window start) in creation order sits beside the Map: the oldest live entry is always at its head,
 * so expired entries are dropped from the front a few at a time, and when the table is full the oldest entry gives
 * way. Entries whose window restarted leave a stale FIFO slot, skipped when it reaches the head. (Iterating a Map
 * from its front after many deletions is not O(1) in V8, hence the explicit FIFO.)
 */
export function createWindowTable(maxEntries: number): WindowTable {
  const counters = new Map<string, WindowCounter>();
  let queue: { key: string; counter: WindowCounter }[] = [];
  let head = 0;
  const live = (slot: { key: string; counter: WindowCounter }) => counters.get(slot.key) === slot.counter;
  const dropHead = () => {
    const slot = queue[head];
    head += 1;
    if (slot && live(slot)) counters.delete(slot.key);
    if (head > 1024 && head * 2 > queue.length) {
      queue = queue.slice(head);
      head = 0;
    }
  };
  const skipStale = () => {
    while (head < queue.length && !live(queue[head]!)) dropHead();
  };
  return {
    count(key, now, periodMs) {
      for (let i = 0; i < 2; i += 1) {
        skipStale();
        const first = queue[head];
        if (!first || now - first.counter.windowStart < periodMs) break;
        dropHead();
      }
      let c = counters.get(key);
      if (c && now - c.windowStart >= periodMs) c = undefined;
      if (!c) {
        if (!counters.has(key) && counters.size >= maxEntries) {
          skipStale();
          dropHead();
        }
        c = { windowStart: now, count: 0 };
        counters.set(key, c);
        queue.push({ key, counter: c });
      }
      c.count += 1;
      return c;
    },
    size: () => counters.size,
  };
}

/** Keys blocked until a time, bounded like the counters: the oldest block gives way when the table is full. */
export function createBlockTable(maxEntries: number): {
  blockedUntil(key: string, now: number): number;
  block(key: string, until: number): void;
  size(): number;
} {
  const blocks = new Map<string, number>();
  return {
    blockedUntil(key, now) {
      const until = blocks.get(key);
      if (until === undefined) return 0;
      if (until <= now) {
        blocks.delete(key);
        return 0;
      }
      return until;
    },
    block(key, until) {
      blocks.delete(key);
      if (blocks.size >= maxEntries) {
        const oldest = blocks.keys().next();
        if (!oldest.done) blocks.delete(oldest.value);
      }
      blocks.set(key, until);
    },
    size: () => blocks.size,
  };
}
