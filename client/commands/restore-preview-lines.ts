// The dry run's view of a restore as lines: which backup (database, signing key, time, size, server version) and its
// rows per table against the live database's, as the server answered them (from the manifest and rehearsal record).
import type * as z from 'zod/mini';
import type { restoreAnswer } from '../../handlers/api/backup-answers';
import { formatBytes } from '../../handlers/units';

export type PreviewAnswer = NonNullable<z.output<typeof restoreAnswer>['preview']>;

const size = (bytes: number) => formatBytes(bytes, { small: 'B', largest: 'MB' });

const rows = (n: number | null) => (n === null ? '?' : String(n));

export function previewLines(p: PreviewAnswer): string {
  const lines = [
    `Backup:   ${p.file}`,
    `Of:       database '${p.database}'${p.serverVersion ? ` on PostgreSQL ${p.serverVersion}` : ''}, taken ${p.takenAt}, ${size(p.sizeBytes)}`,
    `Signed:   ${p.signedBy ?? 'not by a trusted key'}`,
  ];
  if (p.rowsUnknown) lines.push(`Rows:     the backup's rows per table are not known: ${p.rowsUnknown}`);
  if (p.tables.length > 0) {
    const width = Math.max(5, ...p.tables.map((t) => t.table.length));
    lines.push(`${'Table'.padEnd(width)}  ${'backup'.padStart(10)}  ${'live now'.padStart(10)}`);
    for (const t of p.tables) {
      const differs = t.backupRows !== null && t.liveRows !== null && t.backupRows !== t.liveRows;
      lines.push(
        `${t.table.padEnd(width)}  ${rows(t.backupRows).padStart(10)}  ${rows(t.liveRows).padStart(10)}${differs ? '  *' : ''}`,
      );
    }
  }
  return lines.join('\n');
}
