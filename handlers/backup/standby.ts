// The instant restore's source: the rehearsed standby `<db>_standby`, used only when its signed rehearsal record is
// about this very backup (file name and SHA-256) and the standby is unchanged since: connections still refused, the
// same oid, and the same seal (its pg_database row untouched: no session can have been let in, as that takes an
// ALTER DATABASE; autovacuum, statistics resets and restarts leave it as it was). The rehearsal recorded the content
// digest of what it checked before sealing it. Anything else loads the file as before.
import type { CatalogEntry } from './model';
import type { BackupDeps } from './deps';
import { standbyName } from './database-names';
import { withStandbyLock } from './lock';

export type RestoreSource =
  { via: 'standby'; reason: string; database: string; fingerprint: string } | { via: 'file'; reason: string };

/** What the rehearsal record keeps of its standby: its oid and seal once installed, and its content digest. */
export function standbyFingerprint(state: { oid: string; seal: string }, contentDigest: string): string {
  return `oid ${state.oid}, seal ${state.seal}, content ${contentDigest}`;
}

/** How long a restore waits for a rehearsal that is just installing a new standby (a drop and a rename). */
const STANDBY_LOCK_WAIT_MS = 30_000;

/** Decides, before the restore changes anything, whether the standby holds exactly this backup. */
export async function chooseRestoreSource(
  ctx: Pick<BackupDeps, 'admin' | 'logger'>,
  entry: CatalogEntry,
): Promise<RestoreSource> {
  const file = (reason: string): RestoreSource => ({ via: 'file', reason });
  if (entry.state !== 'trusted') return file('the backup is not signed by a trusted key');
  const rehearsal = entry.rehearsal;
  if (!rehearsal) return file('the backup was never rehearsed');
  if (rehearsal.state === 'untrusted')
    return file(`its rehearsal record is not trusted (${rehearsal.reason})`);
  const { record } = rehearsal;
  if (!record.ok) return file('its rehearsal failed');
  if (!record.standby) return file('no standby database was kept from its rehearsal');
  const problem = await standbyProblem(ctx, record.standby);
  if (problem) return file(problem);
  return {
    via: 'standby',
    reason: `the standby database '${record.standby.database}' holds this very backup (rehearsed ${record.rehearsedAt}, unchanged since)`,
    database: record.standby.database,
    fingerprint: record.standby.fingerprint,
  };
}

async function standbyProblem(
  ctx: Pick<BackupDeps, 'admin' | 'logger'>,
  standby: { database: string; fingerprint: string },
): Promise<string | null> {
  if (standby.database !== standbyName(ctx.admin.databaseName))
    return `the rehearsal names another standby database ('${standby.database}')`;
  const state = await ctx.admin.databaseState(standby.database);
  if (!state) return `the standby database '${standby.database}' does not exist`;
  if (state.allowConnections)
    return `the standby database '${standby.database}' takes connections, so it may have been changed`;
  if (!/^oid \d+, seal \d+, content sha256:/.test(standby.fingerprint))
    return 'its rehearsal record predates sealed standbys (the next rehearsal records a seal)';
  if (!standby.fingerprint.startsWith(`oid ${state.oid},`))
    return `the standby database '${standby.database}' holds another backup now or was changed since its rehearsal`;
  if (!standby.fingerprint.startsWith(`oid ${state.oid}, seal ${state.seal},`))
    return `the standby database '${standby.database}' was altered since its rehearsal (ALTER DATABASE, e.g. to let a session in), so its content may have changed`;
  return null;
}

/**
 * Under the standby lock (no rehearsal can replace it meanwhile): checks the standby once more, renames it to the
 * restore's scratch name and lets it take connections. From then on it is the restore's scratch copy, dropped on
 * failure and by start-up recovery like one.
 */
export async function takeStandby(
  ctx: Pick<BackupDeps, 'admin' | 'clock' | 'logger'>,
  source: Extract<RestoreSource, { via: 'standby' }>,
  scratch: string,
): Promise<{ ok: true } | { ok: false; reason: string }> {
  try {
    return await withStandbyLock(ctx.admin, ctx.clock, STANDBY_LOCK_WAIT_MS, async () => {
      const problem = await standbyProblem(ctx, source);
      if (problem) return { ok: false, reason: problem };
      await ctx.admin.renameDatabase(source.database, scratch);
      await ctx.admin.setAllowConnections(scratch, true);
      ctx.logger.info(`Took the rehearsed standby '${source.database}' as '${scratch}' for the swap.`);
      return { ok: true };
    });
  } catch (error) {
    // Renamed already? Then it is a scratch copy now: dropped like one, the database untouched.
    await ctx.admin.dropDatabase(scratch).catch(() => {});
    return {
      ok: false,
      reason: `the standby could not be taken (${error instanceof Error ? error.message : String(error)})`,
    };
  }
}
