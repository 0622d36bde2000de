// The PITR rehearsal record: `<directory>/pitr/rehearsal.json`, the outcome of the last rehearsed restore to a point
// (the point, the source's row counts there, what the recovered copy held), signed with the backup-signing key under a
// context of its own (it can pass neither for a manifest nor for a logical rehearsal's record). An unsigned, forged or
// malformed record counts as "not rehearsed". Pure: the runtime reads and writes the file.
import type { KeyObject } from 'node:crypto';
import { z } from 'zod';
import { canonicalJson, readSignedEnvelope, signatureProblem, signEnvelope } from '../backup/manifest';

export const PITR_REHEARSAL_FORMAT = 'bomnipotent-pitr-rehearsal/1';
const SIGNING_CONTEXT = 'BOMNIPOTENT-PITR-REHEARSAL-V1\n';
const LSN = /^[0-9A-F]{1,8}\/[0-9A-F]{1,8}$/;
const rowCounts = z.record(z.string(), z.number().int().nonnegative());

/**
 * The source's row counts at one point: every table's rows counted in one snapshot of the live database that equals
 * the state at WAL position `lsn` (no WAL was written between the reading before the snapshot and the one in it, and no
 * transaction was in progress), taken at `at` (this server's clock, just after).
 */
export const countMarkSchema = z.strictObject({
  at: z.iso.datetime(),
  lsn: z.string().regex(LSN),
  tableRows: rowCounts,
});

export type PitrCountMark = z.output<typeof countMarkSchema>;

export const pitrRehearsalSchema = z.strictObject({
  format: z.literal(PITR_REHEARSAL_FORMAT),
  database: z.string().min(1),
  rehearsedAt: z.iso.datetime(), // when the rehearsal started
  durationMs: z.number().int().nonnegative(),
  ok: z.boolean(),
  /** The point recovered to, and what the source held there. */
  mark: countMarkSchema,
  /** The base backup (relative to the PITR folder) and the number of WAL segments replayed; null when not planned. */
  base: z.string().nullable(),
  segments: z.number().int().nonnegative(),
  /** Rows per table in the recovered copy (schema.table as pg_dump names it); empty when it was never counted. */
  recoveredRows: rowCounts,
  error: z.string().max(2000).nullable(),
});

export type PitrRehearsalRecord = z.output<typeof pitrRehearsalSchema>;

const signedBytes = (record: PitrRehearsalRecord) =>
  Buffer.from(SIGNING_CONTEXT + canonicalJson(record), 'utf8');

/** The record file as written to disk (the envelope of the manifests: `manifest` and `signature`). */
export function signPitrRehearsal(record: PitrRehearsalRecord, privateKey: KeyObject | string): string {
  return signEnvelope(record, signedBytes(record), privateKey);
}

export type TrustedPitrRehearsal = { ok: true; record: PitrRehearsalRecord } | { ok: false; reason: string };

/** Trusted when well-formed, of this database, and signed by one of `trustedKeys`. */
export function readPitrRehearsal(
  text: string,
  trustedKeys: readonly string[],
  database: string,
): TrustedPitrRehearsal {
  const envelope = readSignedEnvelope(text);
  if (!envelope.ok) return { ok: false, reason: envelope.reason.replace('manifest', 'record') };
  const parsed = pitrRehearsalSchema.safeParse(envelope.data.manifest);
  if (!parsed.success) return { ok: false, reason: `the record is not ${PITR_REHEARSAL_FORMAT}` };
  const refused = signatureProblem(envelope.data.signature, signedBytes(parsed.data), trustedKeys);
  if (refused) return { ok: false, reason: refused.replace('the manifest', 'the record') };
  if (parsed.data.database !== database)
    return { ok: false, reason: `the record is about database '${parsed.data.database}'` };
  return { ok: true, record: parsed.data };
}

/** The tables whose counts differ, as one sentence (null when all agree). */
export function countDifferences(source: Record<string, number>, recovered: Record<string, number>) {
  const tables = [...new Set([...Object.keys(source), ...Object.keys(recovered)])].sort();
  const differing = tables.filter((t) => source[t] !== recovered[t]);
  if (differing.length === 0) return null;
  const shown = differing
    .slice(0, 5)
    .map(
      (t) =>
        `${t} has ${recovered[t] ?? 'no'} rows in the recovered copy, the source had ${source[t] ?? 'no such table'}`,
    )
    .join('; ');
  return `row counts differ from the source at that point: ${shown}${differing.length > 5 ? ` (and ${differing.length - 5} more)` : ''}`;
}
