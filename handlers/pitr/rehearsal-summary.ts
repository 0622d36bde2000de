// The last PITR rehearsal as `list` and GET /database-backup/status show it: when, to which point, passed or not, and
// why not; an untrusted record (forged, altered, unsigned) shows as such and counts as not rehearsed.
import type { TrustedPitrRehearsal } from './rehearsal-record';

export interface PitrRehearsalSummary {
  /** false: the record is not trusted (`error` says why) and counts as no rehearsal. */
  trusted: boolean;
  rehearsedAt: string | null;
  /** The point restored to (ISO 8601). */
  point: string | null;
  passed: boolean;
  tables: number;
  rows: number;
  durationMs: number | null;
  error: string | null;
}

/** null: no record yet. */
export function summarizePitrRehearsal(read: TrustedPitrRehearsal | null): PitrRehearsalSummary | null {
  if (read === null) return null;
  if (!read.ok)
    return {
      trusted: false,
      rehearsedAt: null,
      point: null,
      passed: false,
      tables: 0,
      rows: 0,
      durationMs: null,
      error: read.reason,
    };
  const { record } = read;
  return {
    trusted: true,
    rehearsedAt: record.rehearsedAt,
    point: record.mark.at,
    passed: record.ok,
    tables: Object.keys(record.recoveredRows).length,
    rows: Object.values(record.recoveredRows).reduce((a, b) => a + b, 0),
    durationMs: record.durationMs,
    error: record.error,
  };
}

const shown = (iso: string) => iso.replace('T', ' ').replace(/\.\d+Z$|Z$/, ' UTC');

/** One line for `database-backup list`, and whether it is a warning. */
export function describePitrRehearsal(summary: PitrRehearsalSummary | null): { warn: boolean; line: string } {
  if (summary === null) return { warn: false, line: 'Last PITR rehearsal: none yet.' };
  if (!summary.trusted || summary.rehearsedAt === null || summary.point === null)
    return {
      warn: true,
      line: `Last PITR rehearsal: its record is not trusted (${summary.error ?? 'unknown reason'}), so it counts as not rehearsed.`,
    };
  const when = `at ${shown(summary.rehearsedAt)} (a restore to ${shown(summary.point)}`;
  if (!summary.passed)
    return {
      warn: true,
      line: `Last PITR rehearsal: FAILED ${when}): ${summary.error ?? 'no reason recorded'}`,
    };
  return {
    warn: false,
    line: `Last PITR rehearsal: passed ${when}, ${summary.tables} tables, ${summary.rows} rows as the source had them).`,
  };
}
