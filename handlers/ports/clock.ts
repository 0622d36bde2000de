// Time: what "now" is, and waiting. A test fixes now; no handler reads the system clock or its timers.

export interface Clock {
  now(): Date;
}
