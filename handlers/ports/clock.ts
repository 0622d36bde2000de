// Time: what "now" is, how long something took, and waiting. Handlers read no system clock and start no timer of
// their own (eslint refuses Date.now, setTimeout and setInterval in handlers/), so that a test can fix "now".
export interface Clock {
  /** Wall time: what records, names and signed times say (a test may fix it). */
  now(): Date;
  /** Milliseconds from a fixed point, for deadlines and durations: it moves also when a test fixes now(). */
  elapsedMs(): number;
  /** Resolves after `ms`, or as soon as `signal` aborts; the timer never keeps the process alive. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}
