// The signed manifests of continuous protection (point-in-time recovery): one per base backup and one per sealed WAL
// segment, signed with the backup-signing key under a context of their own (a PITR signature never passes for a dump's)
// and linked into one hash chain (sequence, previous manifest digest) whose first base backup names the head of the
// logical backups' chain. Pure, like handlers/backup/manifest.ts.
import { createHash, type KeyObject } from 'node:crypto';
import { z } from 'zod';
import { canonicalJson, readSignedEnvelope, signatureProblem, signEnvelope } from '../backup/manifest';

export const PITR_FORMAT = 'bomnipotent-pitr/1';
const SIGNING_CONTEXT = 'BOMNIPOTENT-PITR-MANIFEST-V1\n';
const SHA256 = /^[0-9a-f]{64}$/;
/** A WAL segment's file name: timeline, log and segment number, 8 hex digits each. */
export const SEGMENT_NAME = /^[0-9A-F]{24}$/;

/** How a stored file of continuous protection is kept, and whose WAL it holds (the tail's manifest has them too). */
export const storedFileFields = {
  sizeBytes: z.number().int().nonnegative(),
  sha256: z.string().regex(SHA256), // of the stored bytes
  compression: z.literal('zstd'),
  encryption: z.strictObject({ scheme: z.literal('age'), recipients: z.array(z.string()).min(1) }).nullable(),
  /** The PostgreSQL cluster the WAL belongs to (pg_control's system identifier): WAL of another cluster never mixes. */
  systemIdentifier: z.string().regex(/^[0-9]{1,20}$/),
  database: z.string().min(1),
  serverMajor: z.number().int().positive(),
};

export const pitrManifestSchema = z.strictObject({
  format: z.literal(PITR_FORMAT),
  kind: z.enum(['base', 'wal']),
  /** The stored file, relative to the PITR folder: base/<stamp>.tar.zst[.age] or wal/<segment>.zst[.age]. */
  file: z.string().regex(/^(base|wal)\/[0-9A-Za-z._-]{1,200}$/),
  ...storedFileFields,
  /** wal: the segment itself; base: the segment its WAL begins in (its start LSN). */
  segment: z.string().regex(SEGMENT_NAME),
  /** base: the segment of its end LSN (recovery needs the WAL up to there; the base carries it). wal: null. */
  endSegment: z.string().regex(SEGMENT_NAME).nullable(),
  /**
   * Every commit acknowledged before this instant is in this file or an earlier one of the chain: for a base backup
   * the moment it ended, for a segment the moment just before the switch that closed it (null: closed by filling up,
   * it covers no instant the previous one does not).
   */
  coversUntil: z.iso.datetime().nullable(),
  createdAt: z.iso.datetime(),
  sequence: z.number().int().positive(),
  previousManifestSha256: z.string().regex(SHA256).nullable(),
  /** base: the digest of the newest logical backup's manifest when it was taken (null: none yet). */
  logicalHeadSha256: z.string().regex(SHA256).nullable(),
});

export type PitrManifest = z.output<typeof pitrManifestSchema>;

export function pitrSignedBytes(manifest: PitrManifest): Buffer {
  return Buffer.from(SIGNING_CONTEXT + canonicalJson(manifest), 'utf8');
}

/** The chain link: what the next manifest names as its previous one. */
export function pitrDigest(manifest: PitrManifest): string {
  return createHash('sha256').update(pitrSignedBytes(manifest)).digest('hex');
}

export function signPitrManifest(manifest: PitrManifest, privateKey: KeyObject | string): string {
  return signEnvelope(manifest, pitrSignedBytes(manifest), privateKey);
}

export type TrustedPitrManifest =
  { ok: true; manifest: PitrManifest; publicKey: string } | { ok: false; reason: string };

/** Well-formed, signed by one of `trustedKeys`, and describing the file it is named after (`file`). */
export function readPitrManifest(
  text: string,
  trustedKeys: readonly string[],
  file: string,
): TrustedPitrManifest {
  const parsedFile = readSignedEnvelope(text);
  if (!parsedFile.ok) return parsedFile;
  const parsed = pitrManifestSchema.safeParse(parsedFile.data.manifest);
  if (!parsed.success) return { ok: false, reason: `the manifest is not ${PITR_FORMAT}` };
  const { signature } = parsedFile.data;
  const refused = signatureProblem(signature, pitrSignedBytes(parsed.data), trustedKeys);
  if (refused) return { ok: false, reason: refused };
  if (parsed.data.file !== file)
    return { ok: false, reason: `the manifest describes ${parsed.data.file}, not ${file}` };
  return { ok: true, manifest: parsed.data, publicKey: signature.publicKey };
}
