// `database-backup verify [--file]`: the full read of one or every backup (hash, decryption, decompression, dump
// structure), one result per backup. Changes nothing.
import type { TrustState } from './model';
import { openTask, type BackupDeps } from './deps';
import { checkRequestedFileName } from './select-backup';
import { newestFirst } from './trust';
import { AppError } from '../errors';

export interface VerifyResult {
  file: string;
  state: TrustState;
  /** True only when the backup is trusted and its bytes check out in full. */
  ok: boolean;
  reason: string | null;
  sha256: string | null; // of the stored bytes, as read now
}

export async function verifyBackups(
  ctx: Pick<BackupDeps, 'task' | 'logger' | 'notifier'>,
  input: { file?: string | undefined },
): Promise<VerifyResult[]> {
  const { store } = openTask(ctx);
  if (input.file !== undefined) checkRequestedFileName(input.file);
  const entries = newestFirst(await store.list());
  const targets = input.file === undefined ? entries : entries.filter((e) => e.file === input.file);
  if (input.file !== undefined && targets.length === 0) {
    throw new AppError(
      'BACKUP.FILE_NOT_FOUND',
      'not_found',
      `There is no backup named '${input.file}' in the backup directory.`,
      {
        suggestion: 'List the backups with `bomnipotent_client database-backup list`.',
      },
    );
  }
  const results: VerifyResult[] = [];
  // One at a time: each check reads a whole file, and the disk is shared with the database.
  for (const entry of targets) {
    if (entry.sizeBytes === 0 && entry.state === 'untrusted' && entry.manifest) {
      results.push({ file: entry.file, state: entry.state, ok: false, reason: entry.reason, sha256: null });
      continue;
    }
    // Legacy and foreign files are read too, so that their integrity shows; they stay untrusted.
    const verification = await store.verify(entry.file, { allowUnsigned: entry.state !== 'trusted' });
    const ok = verification.ok && entry.state === 'trusted';
    const reason = verification.ok ? entry.reason : verification.reason;
    results.push({
      file: entry.file,
      state: entry.state,
      ok,
      reason,
      sha256: verification.ok ? verification.metadata.sha256 : null,
    });
    if (!ok) {
      ctx.logger.warn(`Backup ${entry.file} does not verify: ${reason ?? entry.state}.`);
      // Keyed by file: a bad backup stays bad, so it is told once and then reminded of, not on every verify.
      ctx.notifier?.problem(`verify_failed:${entry.file}`, {
        kind: 'verify_failed',
        severity: 'critical',
        database: entry.manifest?.database ?? null,
        backup: entry.file,
        reason: `The backup does not verify: ${reason ?? entry.state}.`,
        suggestion: 'Do not rely on it for a restore; make a new backup and check the storage it lies on.',
      });
    }
  }
  return results;
}
