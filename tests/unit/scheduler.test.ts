import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createScheduler } from '../../runtime/node/scheduler';
import type { PeriodicTask, RunTaskDeps } from '../../handlers/tasks/run-task';
import type { TaskRunStore } from '../../handlers/ports/task-runs';
import type { TaskSettings } from '../../runtime/config/types';
import { silentLogger } from '../../runtime/observability/logger';

const HOUR = 3_600_000;

/** `held` stands for the cluster's advisory locks: pass the same set to deps of two servers on one cluster. */
function fakeDeps(
  store: TaskRunStore = memoryStore(),
  held = new Set<string>(),
  databaseName = 'bomnipotent',
): RunTaskDeps {
  return {
    runs: store,
    clock: { now: () => new Date() },
    logger: silentLogger(),
    admin: {
      databaseName,
      async tryWithLock(name, fn) {
        if (held.has(name)) return { acquired: false };
        held.add(name);
        try {
          return { acquired: true, value: await fn({ held: async () => true }) };
        } finally {
          held.delete(name);
        }
      },
    },
  };
}

function memoryStore(): TaskRunStore & { starts: Map<string, Date> } {
  const starts = new Map<string, Date>();
  return {
    starts,
    lastStarted: async (name) => starts.get(name) ?? null,
    recordStart: async (name, at) => void starts.set(name, at),
    recordFinish: async (name, _at, outcome) => {
      if (outcome === 'failed') starts.delete(name); // as the task_runs query: a failed run does not count
    },
  };
}

function recorder(name: string, log: string[], durationMs = 0): PeriodicTask {
  return {
    name,
    run: async () => {
      log.push(`start ${name}`);
      if (durationMs) await new Promise((r) => setTimeout(r, durationMs));
      log.push(`end ${name}`);
    },
  };
}

/** A scheduler of tasks 'a' and 'b' that log their start and end into `log`. */
function twoTasks(log: string[], aMs = 0, bMs = 0) {
  return createScheduler(
    new Map([
      ['a', recorder('a', log, aMs)],
      ['b', recorder('b', log, bMs)],
    ]),
    fakeDeps(),
  );
}

const task = (name: string, periodMs: number, scheduled = true): TaskSettings => ({
  name,
  periodMs,
  scheduled,
});

beforeEach(() => {
  vi.useFakeTimers({ now: new Date('2026-01-11T10:00:00Z') });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('scheduler', () => {
  it('runs every scheduled task once at start, then every period, and skips unscheduled ones', async () => {
    const log: string[] = [];
    const s = twoTasks(log);
    s.start([task('a', HOUR), task('b', HOUR, false)]);
    await vi.advanceTimersByTimeAsync(1);
    expect(log).toEqual(['start a', 'end a']);
    await vi.advanceTimersByTimeAsync(HOUR - 10);
    expect(log).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(20);
    expect(log).toEqual(['start a', 'end a', 'start a', 'end a']);
    await s.stop();
  });

  it('runs tasks one after another, never at the same time', async () => {
    const log: string[] = [];
    const s = twoTasks(log, 5000, 10);
    s.start([task('a', HOUR), task('b', HOUR)]);
    await vi.advanceTimersByTimeAsync(6000);
    expect(log).toEqual(['start a', 'end a', 'start b', 'end b']);
    await s.stop();
  });

  it('on reload runs a newly scheduled task and a task whose next due time is now past right away', async () => {
    const log: string[] = [];
    const s = twoTasks(log);
    s.start([task('a', 10 * HOUR), task('b', HOUR, false)]);
    await vi.advanceTimersByTimeAsync(2 * HOUR);
    expect(log).toEqual(['start a', 'end a']);
    s.reschedule([task('a', HOUR), task('b', HOUR, true)]);
    await vi.advanceTimersByTimeAsync(1);
    expect(log).toEqual(['start a', 'end a', 'start a', 'end a', 'start b', 'end b']);
    await s.stop();
  });

  it('on reload with a longer period waits for the new period', async () => {
    const log: string[] = [];
    const s = createScheduler(new Map([['a', recorder('a', log)]]), fakeDeps());
    s.start([task('a', HOUR)]);
    await vi.advanceTimersByTimeAsync(1);
    s.reschedule([task('a', 3 * HOUR)]);
    await vi.advanceTimersByTimeAsync(2 * HOUR);
    expect(log).toEqual(['start a', 'end a']);
    expect(s.nextDue('a')?.toISOString()).toBe('2026-01-11T13:00:00.000Z');
    await s.stop();
  });

  it('skips a periodic run that another replica made within the period', async () => {
    const log: string[] = [];
    const store = memoryStore();
    const s = createScheduler(new Map([['a', recorder('a', log)]]), fakeDeps(store));
    s.start([task('a', HOUR)]);
    await vi.advanceTimersByTimeAsync(1);
    // another replica ran it half an hour later
    await vi.advanceTimersByTimeAsync(HOUR / 2);
    store.starts.set('a', new Date());
    await vi.advanceTimersByTimeAsync(HOUR / 2 + 10);
    expect(log).toEqual(['start a', 'end a']);
    expect(s.nextDue('a')?.getTime()).toBe(store.starts.get('a')!.getTime() + HOUR);
    await s.stop();
  });

  it('runs a task that a server of another database on the same cluster is running, and skips one of its own database', async () => {
    const cluster = new Set<string>(); // both servers share the cluster's advisory locks
    const ownLog: string[] = [];
    const otherLog: string[] = [];
    const replicaLog: string[] = [];
    const other = createScheduler(
      new Map([['a', recorder('a', otherLog, 1000)]]),
      fakeDeps(memoryStore(), cluster, 'shop'),
    );
    other.start([task('a', HOUR)]);
    await vi.advanceTimersByTimeAsync(1); // the other database's backup is now running
    const own = createScheduler(
      new Map([['a', recorder('a', ownLog)]]),
      fakeDeps(memoryStore(), cluster, 'bomnipotent'),
    );
    own.start([task('a', HOUR)]);
    const replica = createScheduler(
      new Map([['a', recorder('a', replicaLog)]]),
      fakeDeps(memoryStore(), cluster, 'shop'),
    );
    replica.start([task('a', HOUR)]);
    await vi.advanceTimersByTimeAsync(1);
    expect(ownLog).toEqual(['start a', 'end a']);
    expect(otherLog).toEqual(['start a']);
    expect(replicaLog).toEqual([]); // a second replica of the same database is kept out
    await vi.advanceTimersByTimeAsync(1000);
    expect(otherLog).toEqual(['start a', 'end a']);
    await Promise.all([own.stop(), other.stop(), replica.stop()]);
  });

  it('a failing task does not stop the queue', async () => {
    const log: string[] = [];
    const failing: PeriodicTask = { name: 'f', run: async () => Promise.reject(new Error('boom')) };
    const s = createScheduler(
      new Map([
        ['f', failing],
        ['a', recorder('a', log)],
      ]),
      fakeDeps(),
    );
    s.start([task('f', HOUR), task('a', HOUR)]);
    await vi.advanceTimersByTimeAsync(1);
    expect(log).toEqual(['start a', 'end a']);
    await s.stop();
  });
});

describe('scheduler when the database is away', () => {
  it('logs the failure and goes on with the schedule instead of crashing', async () => {
    const log: string[] = [];
    const lines: string[] = [];
    let down = true;
    const deps = fakeDeps();
    const admin = deps.admin;
    deps.logger = { ...silentLogger(), error: (m: string) => void lines.push(m) };
    deps.admin = {
      databaseName: admin.databaseName,
      tryWithLock: (name, fn) =>
        down ? Promise.reject(new Error('connect ECONNREFUSED')) : admin.tryWithLock(name, fn),
    };
    const s = createScheduler(new Map([['a', recorder('a', log)]]), deps);
    s.start([task('a', HOUR)]);
    await vi.advanceTimersByTimeAsync(1);
    expect(log).toEqual([]);
    expect(lines.join('\n')).toContain("Task 'a' could not run: connect ECONNREFUSED");
    down = false;
    await vi.advanceTimersByTimeAsync(HOUR);
    expect(log).toEqual(['start a', 'end a']);
    await s.stop();
  });
});

describe('scheduler after a failed run', () => {
  it('tries again after 15 minutes rather than a whole period', async () => {
    let calls = 0;
    const flaky: PeriodicTask = {
      name: 'f',
      run: async () => {
        calls += 1;
        if (calls === 1) throw new Error('disk full');
      },
    };
    const s = createScheduler(new Map([['f', flaky]]), fakeDeps());
    s.start([task('f', 24 * HOUR)]);
    await vi.advanceTimersByTimeAsync(1);
    expect(calls).toBe(1);
    await vi.advanceTimersByTimeAsync(15 * 60_000);
    expect(calls).toBe(2);
    expect(s.nextDue('f')?.toISOString()).toBe('2026-01-12T10:15:00.000Z');
    await s.stop();
  });
});
