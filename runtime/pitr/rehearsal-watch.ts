// The Node server's PITR rehearsal schedule: looks every minute whether one is due (handlers/pitr/rehearsal-schedule.ts)
// and runs it in the background; stopped at shutdown. Lambda never starts it (no continuous protection there).
import type { RehearseDeps } from '../../handlers/backup/rehearse-backup';
import { runScheduledPitrRehearsal } from '../../handlers/pitr/rehearsal-schedule';

export function watchPitrRehearsals(ctx: RehearseDeps, options: { everyMs?: number } = {}): { stop(): void } {
  const stopping = new AbortController();
  const every = options.everyMs ?? 60_000;
  void (async () => {
    while (!stopping.signal.aborted) {
      await ctx.clock.sleep(every, stopping.signal);
      if (stopping.signal.aborted) break;
      await runScheduledPitrRehearsal(ctx, Math.random(), stopping.signal).catch((error: unknown) =>
        ctx.logger.warn(`PITR rehearsal schedule: ${error instanceof Error ? error.message : String(error)}`),
      );
    }
  })();
  return { stop: () => stopping.abort() };
}
