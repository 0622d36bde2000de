// The backups in the task's directory, newest first, each checked against its metadata.
import { backupTaskNotConfigured } from '../errors';
import type { BackupTrigger } from '../ports';
import type { BackupContext } from './context';
import { parseBackupFileName, sortNewestFirst } from './naming';

export interface BackupListing {
  file: string;
  path: string;
  takenAt: string; // ISO 8601, UTC, from the file name
  sizeBytes: number;
  trigger: BackupTrigger | null; // null when the metadata is missing
  user: string | null;
  verified: boolean;
  problem?: string; // why verification failed
}

export async function listBackups(ctx: BackupContext): Promise<BackupListing[]> {
  const settings = ctx.settings();
  if (!settings) throw backupTaskNotConfigured();
  const { directory } = settings;
  const executor = ctx.executor();
  const listings: BackupListing[] = [];
  // One at a time: each check reads a whole dump, and the disk is shared with the database.
  for (const entry of sortNewestFirst(await executor.list(directory))) {
    const verification = await executor.verify(directory, entry.file);
    const takenAt = parseBackupFileName(entry.file)?.takenAt.toISOString() ?? entry.metadata?.startedAt ?? '';
    listings.push({
      file: entry.file,
      path: entry.path,
      takenAt,
      sizeBytes: entry.sizeBytes,
      trigger: entry.metadata?.trigger ?? null,
      user: entry.metadata?.user ?? null,
      verified: verification.ok,
      ...(verification.ok ? {} : { problem: verification.reason }),
    });
  }
  return listings;
}
