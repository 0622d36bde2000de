// The status at a glance (GET /database-backup/status and the status page): the last good backup, the last
// rehearsal, the off-site state, the next scheduled run and the open problems. Reads only: manifests and rehearsal
// records in the directory, the shared task_runs, notification and off-site records (the same on every replica). It
// changes nothing, reads no store, and tells nobody (unlike `list`, which reports a broken chain).
import type { CatalogEntry } from './model';
import type { BackupDeps } from './deps';
import type { OffsiteRecord, OpenProblem, StatusSources, TaskRunRecord } from '../ports/status-sources';
import type { Severity } from '../ports/notifier';
import type { BackupTask } from '../ports/backup-store';
import { isStale } from './freshness';
import { summarizePitrRehearsal, type PitrRehearsalSummary } from '../pitr/rehearsal-summary';
import { trustedOf } from './trust';
import { isAppError } from '../errors';
import { RETRY_AFTER_FAILURE_MS } from '../tasks/run-task';

export const STATUS_VERSION = 1;

export type StatusDeps = Pick<BackupDeps, 'task' | 'admin' | 'clock' | 'offsite'> & {
  sources: StatusSources;
  /** The server's `domain`, or null. */
  server: string | null;
};

export interface BackupStatus {
  version: typeof STATUS_VERSION;
  server: string | null;
  database: string;
  /** When this answer was made (ISO 8601). */
  at: string;
  /** The worst open problem's severity, 'ok' without any; 'no task' without a database_backup task. */
  overall: Severity | 'ok' | 'no task';
  task: { periodSeconds: number; scheduled: boolean; rehearse: boolean } | null;
  /** The newest good backup (with rehearse = true: the newest that passed its rehearsal), and whether it is stale. */
  lastGoodBackup: { file: string; takenAt: string; sizeBytes: number; stale: boolean } | null;
  /** The newest signed rehearsal record of a trusted backup, passed or failed. */
  lastRehearsal: { file: string; at: string; passed: boolean; error: string | null } | null;
  /** The last rehearsed restore to a point (signed record), passed or failed; null when none or continuous is off. */
  lastPitrRehearsal: PitrRehearsalSummary | null;
  /** null without `offsite`; else what the last copy runs of any replica recorded in the database. */
  offsite: {
    location: string;
    newestConfirmedAt: string | null;
    /** false: no copy run could read the store yet. */
    read: boolean;
    lastCopy: { at: string; ok: boolean; failure: string | null } | null;
  } | null;
  /** null when the task is not scheduled. `due`: it runs as soon as the queue is free (or is running). */
  nextRun: { at: string; due: boolean; running: boolean } | null;
  lastRun: { startedAt: string; finishedAt: string | null; outcome: TaskRunRecord['outcome'] } | null;
  problems: StatusProblem[];
}

export interface StatusProblem {
  kind: string;
  severity: Severity;
  since: string;
  reason: string;
  suggestion: string | null;
  backup: string | null;
}

const BACKUP_TASK = 'database_backup';
const RANK: Record<Severity, number> = { info: 0, warning: 1, critical: 2 };

export async function readBackupStatus(deps: StatusDeps): Promise<BackupStatus> {
  const now = deps.clock.now();
  const database = deps.admin.databaseName;
  const open = await deps.sources.openProblems();
  const base = { version: STATUS_VERSION, server: deps.server, database, at: now.toISOString() } as const;
  const task = deps.task.snapshot();
  if (!task) {
    const problems = open.map(problemJson);
    return {
      ...base,
      overall: 'no task',
      task: null,
      lastGoodBackup: null,
      lastRehearsal: null,
      lastPitrRehearsal: null,
      offsite: null,
      nextRun: null,
      lastRun: null,
      problems,
    };
  }
  const { settings } = task;
  const rehearse = settings.rehearse === true;
  const { trusted, unreadable } = await listTrusted(task, database, now);
  const good = trusted.find((e) => !rehearse || (e.rehearsal?.state === 'trusted' && e.rehearsal.record.ok));
  const goodAt = good?.manifest ? new Date(good.manifest.createdAt) : null;
  const stale = !unreadable && isStale(goodAt, settings.periodMs, now);
  const lastRun = await deps.sources.lastRun(BACKUP_TASK);
  const lastRehearsal = newestRehearsal(trusted);
  const problems = withSeenProblems(open.map(problemJson), {
    stale: stale ? staleProblem(goodAt, settings.periodMs, now) : null,
    rehearsal: lastRehearsal && !lastRehearsal.passed ? rehearsalProblem(lastRehearsal) : null,
    unreadable,
  });
  return {
    ...base,
    overall: problems.reduce<BackupStatus['overall']>(
      (worst, p) => (worst === 'ok' || RANK[p.severity] > RANK[worst as Severity] ? p.severity : worst),
      'ok',
    ),
    task: { periodSeconds: settings.periodMs / 1000, scheduled: settings.scheduled, rehearse },
    lastGoodBackup:
      good && goodAt
        ? { file: good.file, takenAt: goodAt.toISOString(), sizeBytes: good.sizeBytes, stale }
        : null,
    lastRehearsal,
    lastPitrRehearsal: task.store.pitrRehearsal
      ? summarizePitrRehearsal(await task.store.pitrRehearsal.read())
      : null,
    offsite: await offsiteStatus(deps, task),
    nextRun: settings.scheduled ? nextRun(lastRun, settings.periodMs, now) : null,
    lastRun: lastRun && {
      startedAt: lastRun.startedAt.toISOString(),
      finishedAt: lastRun.finishedAt?.toISOString() ?? null,
      outcome: lastRun.outcome,
    },
    problems,
  };
}

/** When the scheduler runs the task next, as it decides (runtime/node/scheduler.ts): a period after the last start,
 * sooner after a failure; a run that is past due runs as soon as the queue is free. */
function nextRun(last: TaskRunRecord | null, periodMs: number, now: Date): BackupStatus['nextRun'] {
  if (!last) return { at: now.toISOString(), due: true, running: false };
  const running = last.outcome === 'running';
  const wait = last.outcome === 'failed' ? Math.min(periodMs, RETRY_AFTER_FAILURE_MS) : periodMs;
  const at = new Date(last.startedAt.getTime() + wait);
  const due = running || at <= now;
  return { at: (due && !running ? now : at).toISOString(), due, running };
}

function newestRehearsal(trusted: CatalogEntry[]): BackupStatus['lastRehearsal'] {
  let newest: BackupStatus['lastRehearsal'] = null;
  for (const entry of trusted) {
    if (entry.rehearsal?.state !== 'trusted') continue;
    const { record } = entry.rehearsal;
    if (newest && newest.at >= record.rehearsedAt) continue;
    newest = { file: entry.file, at: record.rehearsedAt, passed: record.ok, error: record.error };
  }
  return newest;
}

async function offsiteStatus(deps: StatusDeps, task: BackupTask): Promise<BackupStatus['offsite']> {
  const location = deps.offsite?.location(task) ?? null;
  if (location === null) return null;
  const record: OffsiteRecord | null = await deps.sources.offsite(location);
  const newest = record?.newestConfirmedAt;
  return {
    location,
    newestConfirmedAt: newest?.toISOString() ?? null,
    read: newest !== undefined,
    lastCopy: record && {
      at: record.lastCopy.at.toISOString(),
      ok: record.lastCopy.failure === null,
      failure: record.lastCopy.failure,
    },
  };
}

function problemJson(p: OpenProblem): StatusProblem {
  return {
    kind: p.kind,
    severity: p.severity,
    since: p.since.toISOString(),
    reason: p.reason,
    suggestion: p.suggestion,
    backup: p.backup,
  };
}

/**
 * What the status sees itself (stale, a failed last rehearsal) is added when the notifier has no problem of that kind
 * open: staleness shows at once, before the next freshness check opens it.
 */
function withSeenProblems(
  open: StatusProblem[],
  seen: { stale: StatusProblem | null; rehearsal: StatusProblem | null; unreadable: StatusProblem | null },
): StatusProblem[] {
  const kinds = new Set(open.map((p) => p.kind));
  const extra = [seen.stale, seen.rehearsal, seen.unreadable].filter(
    (p): p is StatusProblem => p !== null && !kinds.has(p.kind),
  );
  return [...open, ...extra].sort(
    (a, b) => RANK[b.severity] - RANK[a.severity] || a.since.localeCompare(b.since),
  );
}

/**
 * The trusted backups of the database in the directory. A directory that cannot be read (a path that is a file, a
 * volume gone) is a problem of its own: the status still answers, since that is when the admin looks.
 */
async function listTrusted(
  task: BackupTask,
  database: string,
  now: Date,
): Promise<{ trusted: CatalogEntry[]; unreadable: StatusProblem | null }> {
  try {
    return { trusted: trustedOf(await task.store.list(), database), unreadable: null };
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return {
      trusted: [],
      unreadable: {
        kind: 'directory_unreadable',
        severity: 'critical',
        since: now.toISOString(),
        reason: `The backup directory cannot be read: ${reason}`,
        suggestion: isAppError(error) ? (error.suggestion ?? null) : null,
        backup: null,
      },
    };
  }
}

function staleProblem(goodAt: Date | null, periodMs: number, now: Date): StatusProblem {
  return {
    kind: 'backup_stale',
    severity: 'critical',
    // Since when it is stale: twice the period after the last good backup (or now, without any).
    since: (goodAt ? new Date(goodAt.getTime() + 2 * periodMs) : now).toISOString(),
    reason: goodAt
      ? `The newest good backup is from ${goodAt.toISOString()}, older than twice the period.`
      : 'There is no good backup.',
    suggestion:
      'Check that the server runs its database_backup task (scheduled = true) and why recent runs failed.',
    backup: null,
  };
}

function rehearsalProblem(last: NonNullable<BackupStatus['lastRehearsal']>): StatusProblem {
  return {
    kind: 'rehearsal_failed',
    severity: 'critical',
    since: last.at,
    reason: `The rehearsal of '${last.file}' failed: ${last.error ?? 'no reason recorded'}`,
    suggestion:
      'A restore of this backup would probably fail the same way: make a new backup and rehearse it.',
    backup: last.file,
  };
}
