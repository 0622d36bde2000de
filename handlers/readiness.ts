// GET /ready: can this server back up now? Every reason it cannot, each a sentence that says what to do. /health stays
// the liveness answer (the process is up and its database answers); a probe or an orchestrator that routes work here
// reads this one.
import { isAppError, sentenceOf } from './errors';
import type { BackupStore, BackupTaskSource } from './ports/backup-store';
import type { DatabaseInfo } from './ports/database-admin';
import type { BackupTaskSettings } from './backup/settings';

export interface ReadinessDeps {
  pingDatabase(): Promise<boolean>;
  task: BackupTaskSource;
  admin: Pick<DatabaseInfo, 'serverVersion'>;
}

export interface ReadinessReport {
  status: 'ready' | 'not ready';
  /** Why backups cannot run; empty when ready. */
  reasons: string[];
  /** What works but deserves a look (a pg_dump newer than the server, say); said at start, not a reason. */
  warnings: string[];
}

export async function checkReadiness(deps: ReadinessDeps): Promise<ReadinessReport> {
  const up = await deps.pingDatabase().catch(() => false);
  if (!up) {
    return report(
      ['The database does not answer: check db_url and that PostgreSQL is running and reachable.'],
      [],
    );
  }
  const task = deps.task.snapshot();
  if (!task) return report([], []);
  const reasons: string[] = [];
  const warnings: string[] = [];
  try {
    task.store.signingKey();
  } catch (error) {
    reasons.push(withSuggestion(error));
  }
  const tools = await toolReasons(task.store, task.settings, deps).catch((error: unknown) => ({
    reasons: [withSuggestion(error)],
    warnings: [],
    reachable: false,
  }));
  reasons.push(...tools.reasons);
  warnings.push(...tools.warnings);
  // An executor that does not answer has been named once already.
  if (tools.reachable) {
    await task.store.freeBytes().catch((error: unknown) => reasons.push(withSuggestion(error)));
  }
  return report(reasons, warnings);
}

async function toolReasons(
  store: BackupStore,
  settings: BackupTaskSettings,
  deps: ReadinessDeps,
): Promise<{ reasons: string[]; warnings: string[]; reachable: boolean }> {
  const major = Number.parseInt(await deps.admin.serverVersion(), 10);
  const tools = await store.probeTools(major);
  const blockers = tools.blockers ?? [];
  const reasons = [...blockers];
  if (settings.compression === 'zstd' && tools.zstdPath === null) {
    reasons.push(
      'zstd was not found, and compression is "zstd": install zstd (Debian: apt-get install zstd), or set compression = "gzip" in the database_backup task.',
    );
  }
  if (settings.encryptionRecipients.length > 0 && tools.agePath === null) {
    reasons.push(
      'age was not found, and encryption_recipients is set: install age (Debian: apt-get install age), or remove encryption_recipients from the database_backup task.',
    );
  }
  const warnings = tools.problems.filter((p) => !blockers.includes(p));
  return { reasons, warnings, reachable: true };
}

function withSuggestion(error: unknown): string {
  const suggestion = isAppError(error) && error.suggestion ? ` ${error.suggestion}` : '';
  return `${sentenceOf(error)}${suggestion}`;
}

function report(reasons: string[], warnings: string[]): ReadinessReport {
  return { status: reasons.length === 0 ? 'ready' : 'not ready', reasons, warnings };
}
