// The periodic-task queue: tasks run one after another; a period is the minimal time between two starts.
import type { TaskSettings } from '../config/types';
import {
  RETRY_AFTER_FAILURE_MS,
  runTask,
  type PeriodicTask,
  type RunTaskDeps,
  type TaskOutcome,
} from '../../handlers/tasks/run-task';

interface Entry {
  settings: TaskSettings;
  nextDue: number; // epoch ms
  lastStart: number | null;
  force: boolean; // run without the "ran recently on another replica" check
}

export interface Scheduler {
  /** Every scheduled task runs once now, then every period. */
  start(tasks: readonly TaskSettings[]): void;
  /** After a config reload: newly scheduled tasks, and tasks whose next due time is now past, run right away. */
  reschedule(tasks: readonly TaskSettings[]): void;
  stop(): Promise<void>;
  /** Resolves when the queue is idle (tests). */
  idle(): Promise<void>;
  nextDue(name: string): Date | undefined;
}

const MAX_TIMER_MS = 2 ** 31 - 1;

export function createScheduler(registry: ReadonlyMap<string, PeriodicTask>, deps: RunTaskDeps): Scheduler {
  const entries = new Map<string, Entry>();
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | null = null;
  let stopped = false;

  const known = (tasks: readonly TaskSettings[]) =>
    tasks.filter((t) => {
      if (registry.has(t.name)) return true;
      deps.logger.warn(`Unknown periodic task '${t.name}' in the configuration; it is ignored.`);
      return false;
    });

  const arm = () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    if (stopped || running || entries.size === 0) return;
    const soonest = Math.min(...[...entries.values()].map((e) => e.nextDue));
    const delay = Math.max(0, Math.min(soonest - deps.clock.now().getTime(), MAX_TIMER_MS));
    timer = setTimeout(() => {
      drain().catch((error: unknown) => deps.logger.error(`The task queue failed: ${String(error)}`));
    }, delay);
    timer.unref();
  };

  const drain = async () => {
    if (running || stopped) return;
    running = (async () => {
      // One queue: run every due task in turn, then look again (a long run may make others due).
      for (;;) {
        const now = deps.clock.now().getTime();
        const due = firstDue(entries, now);
        if (!due || stopped) break;
        const task = registry.get(due.settings.name);
        if (!task) break;
        const outcome = await runTask(task, due.settings.periodMs, due.force, deps);
        const current = entries.get(due.settings.name);
        if (current) recordOutcome(current, outcome, now); // else removed by a reload meanwhile
      }
    })();
    try {
      await running;
    } finally {
      running = null;
      arm();
    }
  };

  return {
    start(tasks) {
      const now = deps.clock.now().getTime();
      for (const settings of known(tasks)) {
        if (settings.scheduled)
          entries.set(settings.name, { settings, nextDue: now, lastStart: null, force: true });
      }
      arm();
    },
    reschedule(tasks) {
      const next = rescheduled(entries, known(tasks), deps.clock.now().getTime());
      entries.clear();
      for (const [k, v] of next) entries.set(k, v);
      arm();
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      if (running) await running;
    },
    async idle() {
      while (running) await running;
    },
    nextDue(name) {
      const e = entries.get(name);
      return e ? new Date(e.nextDue) : undefined;
    },
  };
}

/** The task that has waited longest past its due time, if any is due. */
function firstDue(entries: ReadonlyMap<string, Entry>, now: number): Entry | undefined {
  return [...entries.values()].filter((e) => e.nextDue <= now).sort((a, b) => a.nextDue - b.nextDue)[0];
}

/** When the task last started (here or on another replica) and when it is due next. */
function recordOutcome(entry: Entry, outcome: TaskOutcome, now: number): void {
  if (outcome.status === 'not-due') {
    entry.lastStart = outcome.lastStartedAt.getTime();
  } else {
    entry.lastStart = outcome.status === 'busy' ? now : outcome.startedAt.getTime();
  }
  entry.force = false;
  // A failed run is tried again sooner than a whole period later: a missed backup should not wait a day.
  const wait =
    outcome.status === 'failed'
      ? Math.min(entry.settings.periodMs, RETRY_AFTER_FAILURE_MS)
      : entry.settings.periodMs;
  entry.nextDue = entry.lastStart + wait;
}

/** After a reload: new tasks are due now, known ones keep their times (due now when the new period has passed). */
function rescheduled(
  entries: ReadonlyMap<string, Entry>,
  tasks: readonly TaskSettings[],
  now: number,
): Map<string, Entry> {
  const next = new Map<string, Entry>();
  for (const settings of tasks) {
    if (!settings.scheduled) continue;
    const old = entries.get(settings.name);
    if (!old) {
      next.set(settings.name, { settings, nextDue: now, lastStart: null, force: true });
      continue;
    }
    const due = old.lastStart === null ? old.nextDue : old.lastStart + settings.periodMs;
    const overdue = due <= now;
    next.set(settings.name, {
      settings,
      nextDue: overdue ? now : due,
      lastStart: old.lastStart,
      force: overdue || old.force,
    });
  }
  return next;
}
