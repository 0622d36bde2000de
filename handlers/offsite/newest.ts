// The newest-signed rule in the store: "the latest" is never an older backup while a newer one of the same database
// sits in the store damaged (an object of another size, no manifest, a signature that does not check out).
import { AppError } from '../errors';
import type { LocalBackup, OffsiteCatalog } from './model';
import { dataFileOfManifest, parseBackupFileName } from '../backup/naming';

const NO_MANIFEST =
  'it has no manifest in the store (an upload cut off before its manifest, or the manifest was deleted)';
const NO_DATA = 'its manifest is in the store but its data object is missing (deleted?)';

/** An incomplete name of the listing (a data object without manifest, or a manifest without data) as a damaged backup. */
function incompleteBackup(name: string): { file: string; reason: string } {
  const owner = dataFileOfManifest(name);
  return owner === null ? { file: name, reason: NO_MANIFEST } : { file: owner, reason: NO_DATA };
}

/** Newer by the name's UTC time, then its same-second suffix: all that an object without a trusted manifest has. */
function nameOrder(file: string): [number, number] {
  const parsed = parseBackupFileName(file);
  return parsed ? [parsed.takenAt.getTime(), parsed.sequence] : [0, 0];
}

function newer(a: string, b: string): boolean {
  const [ta, sa] = nameOrder(a);
  const [tb, sb] = nameOrder(b);
  return ta > tb || (ta === tb && sa > sb);
}

/**
 * Refuses a restore of "the latest" when the store holds a backup of `database` that fails its check and is newer
 * than every trusted one of that database, in the store and in the directory (a damaged copy whose local twin is
 * trusted does not count: that twin is restored). Only names are compared, since a damaged object has no trusted
 * time: whoever can write the bucket can at most make the restore refuse, never pick an older backup.
 */
export function refuseDamagedNewest(
  catalog: OffsiteCatalog,
  local: readonly LocalBackup[],
  database: string,
  location: string,
): void {
  const localFiles = new Set(local.map((l) => l.file));
  const good = [
    ...catalog.trusted.filter((b) => b.database === database).map((b) => b.file),
    ...local.filter((l) => l.database === database).map((l) => l.file),
  ];
  const damaged = [...catalog.untrusted, ...catalog.incomplete.map(incompleteBackup)].filter(
    (d) => parseBackupFileName(d.file)?.database === database && !localFiles.has(d.file),
  );
  const newest = damaged
    .filter((d) => good.every((file) => newer(d.file, file)))
    .sort((a, b) => (newer(a.file, b.file) ? -1 : 1))[0];
  if (!newest) return;
  const older = good.sort((a, b) => (newer(a, b) ? -1 : 1))[0];
  throw new AppError(
    'BACKUP.VERIFICATION_FAILED',
    'conflict',
    `The newest backup of database '${database}' in ${location}, '${newest.file}', fails verification: ` +
      `${newest.reason}. No older backup is restored in its place` +
      `${older === undefined ? '' : ` (the newest that checks out is '${older}')`}.`,
    {
      suggestion:
        "Nothing was changed. Find out what happened to it (`database-backup list --offsite` shows the store's view); then restore a " +
        'backup by name with --file <name>, after checking it.',
      details: { file: newest.file },
    },
  );
}
