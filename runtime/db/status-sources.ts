// StatusSources on the server's database: the task_runs row of a task, the notifier's open problems and the off-site
// state the copy runs recorded.
import type { StatusSources, TaskRunRecord } from '../../handlers/ports/status-sources';
import type { DbHandle } from './handle';
import type { NotifyStore } from './notify-store';
import type { OffsiteStateStore } from './offsite-state';

export function createStatusSources(
  db: DbHandle,
  notify: Pick<NotifyStore, 'openProblems'>,
  offsite: Pick<OffsiteStateStore, 'read'>,
): StatusSources {
  return {
    offsite: (location) => offsite.read(location),
    async lastRun(task) {
      const { rows } = await db.query<{
        started: Date;
        finished: Date | null;
        outcome: TaskRunRecord['outcome'];
      }>(
        `SELECT last_started_at AS started, last_finished_at AS finished, last_outcome AS outcome
         FROM task_runs WHERE name = $1`,
        [task],
      );
      const row = rows[0];
      return row ? { startedAt: row.started, finishedAt: row.finished, outcome: row.outcome } : null;
    },
    async openProblems() {
      return (await notify.openProblems()).map(({ since, message }) => ({
        kind: message.event,
        severity: message.severity,
        since,
        reason: message.reason,
        suggestion: message.suggestion,
        backup: message.backup,
      }));
    },
  };
}
