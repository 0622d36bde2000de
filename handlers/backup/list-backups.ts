// The backups in the task's directory, newest first, with their trust state; read from manifests only.
import type { AuditChainReport } from './audit-chain';
import { recoveredEvent } from '../ports/notifier';
import type { BackupTrigger, CatalogEntry, TrustState } from './model';
import type { Compression } from './naming';
import type { BackupTask } from '../ports/backup-store';
import { openTask, type BackupDeps } from './deps';
import { parseBackupFileName } from './naming';
import { standbyName } from './database-names';
import { assessChain, describeChain, newestFirst, type ChainReport } from './trust';

export interface BackupListing {
  file: string;
  path: string;
  takenAt: string; // ISO 8601, UTC: the signed creation time, else the time in the file name
  sizeBytes: number;
  trigger: BackupTrigger | null; // null when nothing describes the file
  user: string | null;
  /** True only for a trusted (signed, matching) backup: the only kind "latest", retention and freshness use. */
  verified: boolean;
  state: TrustState;
  problem?: string; // why it is not trusted
  compression: Compression;
  encrypted: boolean;
  sequence: number | null;
  database: string | null;
  /** The PostgreSQL version of the server the backup was taken from (e.g. "15.20"), from its manifest. */
  serverVersion?: string | null;
  /** The signed rehearsal: passed or failed with its facts, `untrusted` (forged, mismatching), or null: never rehearsed. */
  rehearsal: ListedRehearsal | null;
}

export type ListedRehearsal =
  | {
      state: 'passed' | 'failed';
      at: string;
      durationMs: number;
      tables: number;
      rows: number;
      error: string | null;
      standby: { database: string; sizeBytes: number } | null;
    }
  | { state: 'untrusted'; reason: string };

/** The standby database as it is now (its oid), or null when there is none: what the records' standbys are held to. */
type StandbyNow = { database: string; oid: string } | null;

function rehearsalOf(entry: CatalogEntry, standbyNow: StandbyNow): ListedRehearsal | null {
  const r = entry.rehearsal;
  if (!r) return null;
  if (r.state === 'untrusted') return { state: 'untrusted', reason: r.reason };
  const { record } = r;
  return {
    state: record.ok ? 'passed' : 'failed',
    at: record.rehearsedAt,
    durationMs: record.durationMs,
    tables: record.tables,
    rows: record.rows,
    error: record.error,
    // The record keeps the standby it built; after a restore swapped it in (or a drop) it is gone, and not shown.
    standby:
      record.standby &&
      standbyNow?.database === record.standby.database &&
      record.standby.fingerprint.startsWith(`oid ${standbyNow.oid},`)
        ? { database: record.standby.database, sizeBytes: record.standby.sizeBytes }
        : null,
  };
}

export type ListBackupsDeps = Pick<BackupDeps, 'task' | 'admin' | 'chain' | 'logger' | 'notifier'>;

export interface BackupCatalogReport {
  backups: BackupListing[];
  chain: ChainReport & { problem: string | null };
  /** The audit log's signed chain; absent where it cannot be read here (the sidecar). */
  audit?: AuditChainReport;
}

function toListing(entry: CatalogEntry, standbyNow: StandbyNow): BackupListing {
  const parsed = parseBackupFileName(entry.file);
  const m = entry.manifest;
  const described = m ?? entry.legacy;
  return {
    file: entry.file,
    path: entry.path,
    takenAt: m?.createdAt ?? parsed?.takenAt.toISOString() ?? entry.legacy?.startedAt ?? '',
    sizeBytes: entry.sizeBytes,
    trigger: described?.trigger ?? null,
    user: described?.user ?? null,
    verified: entry.state === 'trusted',
    state: entry.state,
    ...(entry.reason === null ? {} : { problem: entry.reason }),
    compression: m?.compression ?? parsed?.compression ?? 'none',
    encrypted: m ? m.encryption !== null : (parsed?.encrypted ?? false),
    sequence: m?.sequence ?? null,
    database: m?.database ?? parsed?.database ?? null,
    serverVersion: m?.serverVersion ?? entry.legacy?.serverVersion ?? null,
    rehearsal: rehearsalOf(entry, standbyNow),
  };
}

/** Entries newest first (trusted ones by signed time), plus what the chain of sequences says. */
export async function listBackupCatalog(
  ctx: ListBackupsDeps,
  task: BackupTask = openTask(ctx),
): Promise<BackupCatalogReport> {
  const { store } = task;
  const entries = await store.list();
  const database = ctx.admin.databaseName;
  const chain = assessChain(entries, database, await ctx.chain.newestSequence(database));
  const problem = describeChain(chain);
  if (problem) ctx.logger.warn(`Backups of '${database}' in ${store.directory}: ${problem}.`);
  tellChain(ctx, database, problem);
  const standby = standbyName(database);
  const state = await ctx.admin.databaseState(standby).catch(() => null);
  const standbyNow = state ? { database: standby, oid: state.oid } : null;
  const byTime = newestFirst(entries).map((e) => toListing(e, standbyNow));
  const nameSequence = (file: string) => parseBackupFileName(file)?.sequence ?? 0;
  byTime.sort(
    (a, b) =>
      Date.parse(b.takenAt || '0') - Date.parse(a.takenAt || '0') ||
      nameSequence(b.file) - nameSequence(a.file) ||
      (b.sequence ?? 0) - (a.sequence ?? 0),
  );
  const audit = store.auditChain ? await store.auditChain().catch(() => undefined) : undefined;
  if (audit?.problem) ctx.logger.warn(`Audit log in ${store.directory}: ${audit.problem}.`);
  return { backups: byTime, chain: { ...chain, problem }, ...(audit ? { audit } : {}) };
}

export async function listBackups(ctx: ListBackupsDeps): Promise<BackupListing[]> {
  return (await listBackupCatalog(ctx)).backups;
}

function tellChain(ctx: ListBackupsDeps, database: string, problem: string | null): void {
  const key = `chain_broken:${database}`;
  if (!problem) {
    ctx.notifier?.resolved(
      key,
      recoveredEvent('chain_broken', database, 'The chain of backups is whole again.'),
    );
    return;
  }
  ctx.notifier?.problem(key, {
    kind: 'chain_broken',
    severity: 'critical',
    database,
    backup: null,
    reason: `The chain of backups is broken or restarted: ${problem}.`,
    suggestion:
      'Find out who removed or replaced backups in the directory; `database-backup list` shows the chain.',
  });
}
