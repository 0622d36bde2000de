// `database-backup list` with the store: where each backup is (local, offsite, both), and `--offsite` for the store
// alone. A store that cannot be read does not hide the local backups: the answer says why it is missing.
import { openTask, type BackupDeps } from '../backup/deps';
import type { BackupTask } from '../ports/backup-store';
import { listBackupCatalog, type BackupCatalogReport, type BackupListing } from '../backup/list-backups';
import { parseBackupFileName } from '../backup/naming';
import type { OffsiteCatalog } from './model';
import { summarizePitr, type PitrSummary } from '../pitr/summary';
import { summarizePitrRehearsal, type PitrRehearsalSummary } from '../pitr/rehearsal-summary';

export type BackupLocation = 'local' | 'offsite' | 'both';

export interface LocatedBackup extends Omit<BackupListing, 'path'> {
  path: string | null; // null when the backup is only in the store
  /** Absent without `offsite` set: every backup is local then, and the listing is the local one as it is. */
  location?: BackupLocation;
}

export interface OffsiteSummary {
  location: string; // s3://bucket/prefix
  error?: string; // the store could not be read
  incomplete: string[];
  foreign: string[];
}

export interface LocatedListing {
  backups: LocatedBackup[];
  chain: BackupCatalogReport['chain'];
  audit?: BackupCatalogReport['audit'];
  offsite?: OffsiteSummary;
  /** The restorable window of continuous protection; absent when it is off. */
  pitr?: PitrSummary;
  /** The last PITR rehearsal (null: none yet); absent when continuous protection cannot be rehearsed here. */
  pitrRehearsal?: PitrRehearsalSummary | null;
}

export async function listBackupsWithLocations(
  ctx: Pick<BackupDeps, 'task' | 'admin' | 'chain' | 'logger' | 'offsite' | 'clock'>,
  options: { offsiteOnly: boolean },
): Promise<LocatedListing> {
  const task = openTask(ctx);
  const { backups: local, chain, audit: auditChain } = await listBackupCatalog(ctx, task);
  const audit = auditChain ? { audit: auditChain } : {};
  const pitr = {
    ...(task.store.pitr
      ? { pitr: summarizePitr(await task.store.pitr(), ctx.clock.now(), task.store.pitrHeldWal?.() ?? null) }
      : {}),
    ...(task.store.pitrRehearsal
      ? { pitrRehearsal: summarizePitrRehearsal(await task.store.pitrRehearsal.read()) }
      : {}),
  };
  const view = await readCatalog(ctx, task);
  if (view === null) {
    return { backups: options.offsiteOnly ? [] : local, chain, ...audit, ...pitr };
  }
  const { catalog, summary } = view;
  const localFiles = new Set(local.map((b) => b.file));
  const remote = offsiteEntries(catalog, localFiles);
  const remoteFiles = new Set(remote.map((b) => b.file));
  const backups: LocatedBackup[] = options.offsiteOnly
    ? storeView(remote, local)
    : [
        ...local.map((b) => ({
          ...b,
          location: remoteFiles.has(b.file) ? ('both' as const) : ('local' as const),
        })),
        ...remote.filter((b) => !localFiles.has(b.file)),
      ].sort((a, b) => b.takenAt.localeCompare(a.takenAt) || b.file.localeCompare(a.file));
  return { backups, chain, ...audit, offsite: summary, ...pitr };
}

/**
 * `list --offsite`: what the store holds, each copy located `offsite`, with the rehearsal mark of the signed record in
 * the directory when that record is about the same backup (same name and signed sequence: the store never holds
 * other bytes under a local backup's name, a copy refuses them).
 */
function storeView(remote: LocatedBackup[], local: BackupListing[]): LocatedBackup[] {
  const byFile = new Map(local.map((b) => [b.file, b]));
  return remote.map((b) => {
    const twin = byFile.get(b.file);
    const same = twin?.verified === true && b.verified && twin.sequence === b.sequence;
    return { ...b, location: 'offsite' as const, rehearsal: same ? twin.rehearsal : null };
  });
}

async function readCatalog(
  ctx: Pick<BackupDeps, 'offsite'>,
  task: BackupTask,
): Promise<{ catalog: OffsiteCatalog | null; summary: OffsiteSummary } | null> {
  if (!ctx.offsite) return null;
  try {
    const found = await ctx.offsite.catalog(task);
    if (found === null) return null;
    const summary = {
      location: found.location,
      incomplete: found.catalog.incomplete,
      foreign: found.catalog.foreign,
    };
    return { catalog: found.catalog, summary };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return {
      catalog: null,
      summary: { location: ctx.offsite.location(task) ?? '', error: message, incomplete: [], foreign: [] },
    };
  }
}

function offsiteEntries(catalog: OffsiteCatalog | null, localFiles: Set<string>): LocatedBackup[] {
  if (catalog === null) return [];
  const located = (file: string): BackupLocation => (localFiles.has(file) ? 'both' : 'offsite');
  return [
    ...catalog.trusted.map((b): LocatedBackup => ({
      file: b.file,
      path: null,
      takenAt: b.manifest.createdAt,
      sizeBytes: b.sizeBytes,
      trigger: b.manifest.trigger,
      user: b.manifest.user,
      verified: true, // its signed manifest checks out; the bytes are checked against it on download
      state: 'trusted',
      compression: b.manifest.compression,
      encrypted: b.manifest.encryption !== null,
      sequence: b.manifest.sequence,
      database: b.manifest.database,
      serverVersion: b.manifest.serverVersion,
      rehearsal: null, // rehearsals happen to local copies: the local entry shows them (storeView copies them here)
      location: located(b.file),
    })),
    ...catalog.untrusted.map((b): LocatedBackup => {
      const parsed = parseBackupFileName(b.file);
      return {
        file: b.file,
        path: null,
        rehearsal: null,
        takenAt: '',
        sizeBytes: 0,
        trigger: null,
        user: null,
        verified: false,
        state: 'untrusted',
        problem: b.reason,
        compression: parsed?.compression ?? 'none',
        encrypted: parsed?.encrypted ?? false,
        sequence: null,
        database: parsed?.database ?? null,
        location: located(b.file),
      };
    }),
  ];
}
