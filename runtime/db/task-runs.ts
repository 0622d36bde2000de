// TaskRunStore on the task_runs table.
import type { TaskRunStore } from '../../handlers/ports/task-runs';
import type { DbHandle } from './handle';

export function createTaskRunStore(db: DbHandle): TaskRunStore {
  return {
    async lastStarted(name) {
      const { rows } = await db.query<{ at: Date }>(
        "SELECT last_started_at AS at FROM task_runs WHERE name = $1 AND last_outcome <> 'failed'",
        [name],
      );
      return rows[0]?.at ?? null;
    },
    async recordStart(name, at) {
      await db.query(
        `INSERT INTO task_runs (name, last_started_at, last_outcome) VALUES ($1, $2, 'running')
         ON CONFLICT (name) DO UPDATE SET last_started_at = $2, last_finished_at = NULL, last_outcome = 'running'`,
        [name, at],
      );
    },
    async recordFinish(name, at, outcome) {
      await db.query('UPDATE task_runs SET last_finished_at = $2, last_outcome = $3 WHERE name = $1', [
        name,
        at,
        outcome,
      ]);
    },
  };
}
