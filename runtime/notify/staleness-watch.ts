// Staleness is told even when no backup runs at all (the task unscheduled, the scheduler stuck, a server just
// restarted): the freshness check every quarter period (at least every second, at most every 5 minutes), quietly in
// the log (the scheduled run warns there), loudly to the [[notify]] channels.
import type { BackupDeps } from '../../handlers/backup/deps';
import { checkFreshness } from '../../handlers/backup/freshness';

export function watchStaleness(backups: BackupDeps, periodMs: () => number | null): { stop(): void } {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const next = () => {
    const period = periodMs();
    const every = Math.min(Math.max((period ?? 5 * 60_000) / 4, 1000), 5 * 60_000);
    timer = setTimeout(() => void tick(), every);
    timer.unref();
  };
  const tick = async () => {
    if (periodMs() !== null) {
      await checkFreshness(backups, { warn: false }).catch((error: unknown) =>
        backups.logger.debug(`Freshness check: ${error instanceof Error ? error.message : String(error)}`),
      );
    }
    if (!stopped) next();
  };
  next();
  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
