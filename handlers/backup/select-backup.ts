// Which backup a restore uses: the newest trusted one of this database by its signed time, or one named by the admin.
import { AppError } from '../errors';
import type { CatalogEntry } from './model';
import { isBackupFileName } from './naming';
import type { BackupManifest } from './manifest';
import { newestFirst, restartedChain, type ChainReport } from './trust';

/** What every "no backup" error of a recovery says: where else backups may be, and how to name one. */
export const NO_BACKUP_HINT =
  'In a recovery, see what the off-site store holds with `bomnipotent_client database-backup list --offsite` and ' +
  'restore one by name with `bomnipotent_client database-backup completely-restore --file <name>` (a backup of ' +
  'another database name or server, signed by a key in trusted_keys, restores too).';

/** A requested name must be a bare backup file name: no path, nothing to climb out of the directory with. */
export function checkRequestedFileName(file: string): void {
  const bare = !/[/\\]/.test(file) && !file.includes('..') && !file.includes('\0');
  if (!bare || !isBackupFileName(file)) {
    throw new AppError('BACKUP.BAD_FILE_NAME', 'invalid', `'${file}' is not the name of a backup file.`, {
      suggestion:
        'Give the bare file name as `database-backup list` shows it, e.g. bomnipotent_db_20260111_103024.dump.',
    });
  }
}

/**
 * The newest trusted backup of `database` by its signed creation time, or the named one. Never falls back silently:
 * when the newest signed backup is damaged or gone, or the chain says the newest backups were deleted, the restore
 * is refused and the admin must name a file. A named file that is not trusted needs allowUnsigned.
 */
export function selectBackup(
  entries: readonly CatalogEntry[],
  request: {
    database: string;
    file?: string | undefined;
    allowUnsigned?: boolean | undefined;
    chain?: ChainReport;
    expectNewest?: string | undefined;
  },
): CatalogEntry {
  if (request.file !== undefined) return selectNamedBackup(entries, request.file, request.allowUnsigned);
  const ours = newestFirst(entries.filter((e) => e.manifest?.database === request.database));
  const newestTrusted = ours.find((e) => e.state === 'trusted');
  // A signed backup newer than the newest trusted one that fails now (truncated, grown, data gone) is refused by
  // name: the admin must see it, not get an older database without a word.
  const newestSigned = ours[0];
  if (newestSigned && newestSigned !== newestTrusted && newestSigned.state !== 'trusted') {
    throw new AppError(
      'BACKUP.VERIFICATION_FAILED',
      'conflict',
      `The newest backup '${newestSigned.path}' fails verification: ${newestSigned.reason ?? 'untrusted'}.`,
      {
        suggestion:
          'Nothing was changed. Restore another backup by name with --file <name>, after checking it.',
        details: { file: newestSigned.file },
      },
    );
  }
  // Only then the chain: a newest backup that is present but fails is named above, not reported as missing.
  if (request.chain && request.chain.missingNewest.length > 0) {
    const missing = request.chain.missingNewest;
    throw new AppError(
      'BACKUP.NEWEST_MISSING',
      'conflict',
      `The newest backups of '${request.database}' are missing from the backup directory (sequence ${missing[0]}${missing.length > 1 ? `-${missing[missing.length - 1]}` : ''}; this server recorded ${request.chain.recordedNewest}): they were deleted or the directory was rolled back. No older backup is restored silently.`,
      {
        suggestion:
          'Nothing was changed. Find out what happened to the directory; then restore a backup by name with --file <name>.',
      },
    );
  }
  const restarted = restartedChain(
    ours.flatMap((e) => (e.state === 'trusted' && e.manifest ? [e.manifest] : [])),
  );
  if (restarted) throw chainRestarted(restarted, 'in the backup directory');
  if (!newestTrusted) {
    const others =
      entries.length > 0
        ? ` (there are ${entries.length} other files; \`database-backup list\` shows why none is trusted; restore one on purpose with --file <name> --allow-unsigned)`
        : '';
    throw new AppError(
      'BACKUP.NONE_FOUND',
      'not_found',
      `There is no trusted backup of database '${request.database}' to restore${others}.`,
      {
        suggestion: NO_BACKUP_HINT,
      },
    );
  }
  checkExpectedNewest(request.expectNewest, newestTrusted.file, newestTrusted.manifest?.sequence ?? null, {
    where: 'in the backup directory',
    database: request.database,
  });
  return newestTrusted;
}

/** The backup named by the admin: it must be there, and trusted unless allowUnsigned. */
function selectNamedBackup(
  entries: readonly CatalogEntry[],
  file: string,
  allowUnsigned: boolean | undefined,
): CatalogEntry {
  checkRequestedFileName(file);
  const named = entries.find((e) => e.file === file);
  if (!named || (named.sizeBytes === 0 && named.state === 'untrusted' && named.reason?.includes('missing'))) {
    throw new AppError(
      'BACKUP.FILE_NOT_FOUND',
      'not_found',
      `There is no backup named '${file}' in the backup directory.`,
      {
        suggestion: `List the backups with \`bomnipotent_client database-backup list\`. ${NO_BACKUP_HINT}`,
      },
    );
  }
  if (named.state !== 'trusted' && allowUnsigned !== true) {
    throw new AppError(
      'BACKUP.UNTRUSTED',
      'conflict',
      `The backup '${named.file}' is not trusted: ${named.reason ?? named.state}.`,
      {
        suggestion:
          'Nothing was changed. If you know where this file comes from and trust it, restore it on purpose with --file <name> --allow-unsigned.',
        details: { file: named.file, state: named.state },
      },
    );
  }
  return named;
}

/**
 * `--expect-newest` takes a backup file name or a signed sequence number, and only without --file (which names the
 * backup itself); anything else is refused up front.
 */
export function checkExpectNewestRequest(request: {
  file?: string | undefined;
  expectNewest?: string | undefined;
}): void {
  const expected = request.expectNewest;
  if (expected === undefined) return;
  if (request.file !== undefined)
    throw new AppError(
      'BACKUP.BAD_EXPECT_NEWEST',
      'invalid',
      '--expect-newest checks which backup "the latest" is; with --file <name> you name the backup yourself.',
      { suggestion: 'Give either --file <name> or --expect-newest <name|sequence>, not both.' },
    );
  if (/^[1-9]\d{0,15}$/.test(expected)) return;
  if (!/[/\\]/.test(expected) && !expected.includes('..') && isBackupFileName(expected)) return;
  throw new AppError(
    'BACKUP.BAD_EXPECT_NEWEST',
    'invalid',
    `--expect-newest '${expected}' is neither the name of a backup file nor a sequence number.`,
    {
      suggestion:
        'Give the bare file name or the sequence of the backup you expect to be the newest, as `database-backup list --offsite` shows them, e.g. --expect-newest bomnipotent_db_20260111_103024.dump.zst or --expect-newest 42.',
    },
  );
}

/**
 * `--expect-newest`: the admin states which backup "the latest" must be (its file name or its signed sequence), from
 * a record kept off the server. Anything else is refused: a store or directory whose newest backups were deleted
 * would otherwise restore an older one without a word (a fresh server has no sequence record to notice it).
 */
export function checkExpectedNewest(
  expected: string | undefined,
  file: string,
  sequence: number | null,
  context: { where: string; database: string },
): void {
  if (expected === undefined) return;
  const bySequence = /^\d+$/.test(expected);
  if (bySequence ? sequence === Number(expected) : file === expected) return;
  const seen = `'${file}'${sequence === null ? '' : ` (sequence ${sequence})`}`;
  throw new AppError(
    'BACKUP.NOT_EXPECTED_NEWEST',
    'conflict',
    `The newest trusted backup of database '${context.database}' ${context.where} is ${seen}, not the expected ` +
      `${bySequence ? `sequence ${expected}` : `'${expected}'`}. No other backup is restored in its place.`,
    {
      suggestion:
        'Nothing was changed. Find out what happened to the expected backup (`database-backup list --offsite` shows ' +
        `the store's view); to restore the one found, name it: --file ${file}.`,
      details: { file, expected },
    },
  );
}

/** Refuses "the latest" when the newest backup starts a chain of its own (see restartedChain): the admin names one. */
export function chainRestarted(
  found: { newest: BackupManifest; highest: BackupManifest },
  where: string,
): AppError {
  const { newest, highest } = found;
  return new AppError(
    'BACKUP.CHAIN_RESTARTED',
    'conflict',
    `The newest backup ${where}, '${newest.file}' (sequence ${newest.sequence}, ${newest.createdAt}), starts a chain of ` +
      `its own, while the older '${highest.file}' reaches sequence ${highest.sequence}: a server set up anew backs up ` +
      'its new (maybe empty) database first, and that backup is not picked as "the latest" without a word.',
    {
      suggestion:
        `Nothing was changed. Name the backup to restore: --file ${highest.file} (the newest of the longer chain, ` +
        `e.g. the server this one replaces) or --file ${newest.file}.`,
      details: { newest: newest.file, highest: highest.file },
    },
  );
}
