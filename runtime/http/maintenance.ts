// The maintenance state of this process, set by the restore and read by the HTTP layer, which also counts the
// write requests in flight so that a restore can wait for those that passed the gate before it closed.
import type { MaintenanceMode, MaintenancePhase } from '../../handlers/ports/maintenance';

export function createMaintenanceMode(): MaintenanceMode {
  let state: { phase: MaintenancePhase; reason: string } = { phase: 'normal', reason: '' };
  let writes = 0;
  let waiters: (() => void)[] = [];
  const settle = () => {
    if (writes > 0) return;
    const done = waiters;
    waiters = [];
    for (const resolve of done) resolve();
  };
  return {
    set: (phase, reason) => {
      state = { phase, reason };
    },
    get: () => state,
    writeStarted: () => {
      writes += 1;
      let ended = false;
      return () => {
        if (ended) return;
        ended = true;
        writes -= 1;
        settle();
      };
    },
    writesSettled: (timeoutMs) =>
      new Promise<boolean>((resolve) => {
        if (writes === 0) return resolve(true);
        const timer = setTimeout(() => {
          waiters = waiters.filter((w) => w !== onSettled);
          resolve(false);
        }, timeoutMs);
        const onSettled = () => {
          clearTimeout(timer);
          resolve(true);
        };
        waiters.push(onSettled);
      }),
  };
}
