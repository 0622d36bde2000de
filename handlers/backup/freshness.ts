// Backup freshness: warns when the newest good backup is older than twice the task's period.
import type { BackupContext } from './context';
import { formatDuration } from './format';
import { parseBackupFileName, sortNewestFirst } from './naming';

/** True when there is no good backup, or the newest is older than twice the period (one missed run is tolerated). */
export function isStale(lastGoodAt: Date | null, periodMs: number, now: Date): boolean {
  if (!lastGoodAt) return true;
  return now.getTime() - lastGoodAt.getTime() > 2 * periodMs;
}

export interface FreshnessReport {
  lastGoodAt: Date | null;
  stale: boolean;
}

/** Called by the scheduler after each run. Checks newest first and stops at the first good backup. */
export async function checkFreshness(ctx: BackupContext): Promise<FreshnessReport | null> {
  const settings = ctx.settings();
  if (!settings) return null; // no task, nothing to be fresh
  const executor = ctx.executor();
  const entries = sortNewestFirst(
    (await executor.list(settings.directory)).flatMap((entry) => {
      const parsed = parseBackupFileName(entry.file);
      return parsed ? [{ file: entry.file, takenAt: parsed.takenAt }] : [];
    }),
  );
  let lastGoodAt: Date | null = null;
  for (const entry of entries) {
    if ((await executor.verify(settings.directory, entry.file)).ok) {
      lastGoodAt = entry.takenAt;
      break;
    }
  }
  const stale = isStale(lastGoodAt, settings.periodMs, ctx.clock.now());
  if (stale) {
    const period = formatDuration(settings.periodMs);
    ctx.logger.warn(
      lastGoodAt
        ? `The newest good backup is from ${lastGoodAt.toISOString()}, older than twice the period (${period}): check the backup task.`
        : `There is no good backup in ${settings.directory}, and the period is ${period}: check the backup task.`,
    );
  }
  return { lastGoodAt, stale };
}
