// `database-backup verify [--file]`: the full read of one or every backup (hash, decryption, decompression, dump
// structure), one result per backup. Changes nothing.
import { backupTaskNotConfigured } from '../errors';
import type { TrustState } from './model';
import type { BackupContext } from './context';
import { checkRequestedFileName } from './select-backup';
import { newestFirst, trustPolicy } from './trust';
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
  ctx: BackupContext,
  input: { file?: string | undefined },
): Promise<VerifyResult[]> {
  const settings = ctx.settings();
  if (!settings) throw backupTaskNotConfigured();
  if (input.file !== undefined) checkRequestedFileName(input.file);
  const executor = ctx.executor();
  const trust = trustPolicy(ctx, settings);
  const entries = newestFirst(await executor.list({ directory: settings.directory, trust }));
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
    const verification = await executor.verify(settings.directory, entry.file, {
      ...trust,
      // Legacy and foreign files are read too, so that their integrity shows; they stay untrusted.
      allowUnsigned: entry.state !== 'trusted',
      identityFile: settings.encryptionIdentityFile,
    });
    const ok = verification.ok && entry.state === 'trusted';
    const reason = verification.ok ? entry.reason : verification.reason;
    results.push({
      file: entry.file,
      state: entry.state,
      ok,
      reason,
      sha256: verification.ok ? verification.metadata.sha256 : null,
    });
    if (!ok) ctx.logger.warn(`Backup ${entry.file} does not verify: ${reason ?? entry.state}.`);
  }
  return results;
}
