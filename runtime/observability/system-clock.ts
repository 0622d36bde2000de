// The Clock port on the system clock and Node's timers.
import type { Clock } from '../../handlers/ports/clock';

export function systemClock(now: () => Date = () => new Date()): Clock {
  return {
    now,
    elapsedMs: () => performance.now(),
    sleep: (ms, signal) =>
      new Promise<void>((resolve) => {
        if (signal?.aborted) return resolve();
        const done = () => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', done);
          resolve();
        };
        const timer = setTimeout(done, ms);
        timer.unref();
        signal?.addEventListener('abort', done, { once: true });
      }),
  };
}
