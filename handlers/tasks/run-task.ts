// Runs one periodic task once, unless another replica has just run it; shared by the Node scheduler and Lambda.
import type { Clock } from '../ports/clock';
import type { DatabaseLock } from '../ports/database-admin';
import type { Logger } from '../ports/logger';
import type { TaskRunStore } from '../ports/task-runs';
import { isAppError } from '../errors';

/** A failed run is tried again sooner than a whole period later: a missed backup should not wait a day. */
export const RETRY_AFTER_FAILURE_MS = 15 * 60_000;

export interface PeriodicTask {
  readonly name: string;
  run(): Promise<void>;
}

export interface RunTaskDeps {
  runs: TaskRunStore;
  /** The lock is per database: servers of other databases on the same cluster run their tasks independently. */
  admin: DatabaseLock;
  clock: Pick<Clock, 'now'>;
  logger: Logger;
}

export type TaskOutcome =
  | { status: 'succeeded'; startedAt: Date }
  | { status: 'failed'; startedAt: Date; message: string }
  | { status: 'not-due'; lastStartedAt: Date } // another replica ran it within the period
  | { status: 'busy' }; // another replica is running it right now

/**
 * `force` skips the "ran recently elsewhere" check (the run at start-up and a run made due by a reload);
 * the per-task lock still keeps two replicas from running the same task at once.
 */
export async function runTask(
  task: PeriodicTask,
  periodMs: number,
  force: boolean,
  deps: RunTaskDeps,
): Promise<TaskOutcome> {
  const startedAt = deps.clock.now();
  try {
    const locked = await deps.admin.tryWithLock(taskLockName(deps.admin.databaseName, task.name), () =>
      runLocked(task, periodMs, force, deps),
    );
    if (!locked.acquired) {
      deps.logger.info(`Task '${task.name}' is running on another replica; this run is skipped.`);
      return { status: 'busy' };
    }
    return locked.value;
  } catch (error) {
    // The database may be briefly unreachable (a restart, a failover, a restore's swap): the schedule goes on.
    const message = error instanceof Error ? error.message : String(error);
    deps.logger.error(`Task '${task.name}' could not run: ${message}`);
    return { status: 'failed', startedAt, message };
  }
}

export function taskLockName(database: string, task: string): string {
  return `bomnipotent-task:${database}:${task}`;
}

async function runLocked(
  task: PeriodicTask,
  periodMs: number,
  force: boolean,
  deps: RunTaskDeps,
): Promise<TaskOutcome> {
  const now = deps.clock.now();
  const last = await deps.runs.lastStarted(task.name);
  if (!force && last && now.getTime() - last.getTime() < periodMs) {
    return { status: 'not-due', lastStartedAt: last };
  }
  await deps.runs.recordStart(task.name, now);
  try {
    await task.run();
    await deps.runs.recordFinish(task.name, deps.clock.now(), 'succeeded');
    return { status: 'succeeded', startedAt: now };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const busy = isAppError(error) && error.code === 'BACKUP.BUSY';
    await deps.runs.recordFinish(task.name, deps.clock.now(), busy ? 'skipped' : 'failed').catch(() => {});
    if (busy) deps.logger.warn(`Skipped the scheduled run of task '${task.name}': ${message}`);
    else deps.logger.error(`Task '${task.name}' failed: ${message}`);
    return { status: 'failed', startedAt: now, message };
  }
}
