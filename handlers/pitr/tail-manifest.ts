// The signed tail of continuous protection: the WAL segment being written, as far as pg_receivewal has flushed it, stored
// like a sealed segment and signed every tail_interval, so that the local recovery point lags by seconds rather than by
// seal_interval. It is not a link of the hash chain (it is replaced every few seconds) but is bound to the chain's
// head: it names the digest of the newest sealed manifest and continues with the segment right after it. Its own
// signing context and format: a tail signature never passes for a base or segment manifest (or a dump's), nor the
// other way round. Pure, like manifest.ts.
import type { KeyObject } from 'node:crypto';
import { z } from 'zod';
import { canonicalJson, readSignedEnvelope, signatureProblem, signEnvelope } from '../backup/manifest';
import { SEGMENT_NAME, storedFileFields } from './manifest';

export const PITR_TAIL_FORMAT = 'bomnipotent-pitr-tail/1';
const SIGNING_CONTEXT = 'BOMNIPOTENT-PITR-TAIL-V1\n';
const SHA256 = /^[0-9a-f]{64}$/;
/** tail/<segment>-<bytes of WAL, 8 hex digits>.zst[.age]: a new name for every tail, so one replaces another atomically. */
export const TAIL_FILE = /^tail\/[0-9A-F]{24}-[0-9A-F]{8}\.zst(?:\.age)?$/;

export const pitrTailSchema = z.strictObject({
  format: z.literal(PITR_TAIL_FORMAT),
  kind: z.literal('tail'),
  file: z.string().regex(TAIL_FILE),
  ...storedFileFields,
  /** The segment being written; the tail holds its first walBytes bytes (a restore pads it with zeros). */
  segment: z.string().regex(SEGMENT_NAME),
  walBytes: z
    .number()
    .int()
    .positive()
    .max(16 * 1024 * 1024),
  /** The server's flush position when the tail was taken; the tail holds the WAL up to it. */
  lsn: z.string().regex(/^[0-9A-F]{1,8}\/[0-9A-F]{1,8}$/),
  /** Every commit acknowledged before this instant is in the chain or this tail (it was flushed at or before lsn). */
  coversUntil: z.iso.datetime(),
  createdAt: z.iso.datetime(),
  /** The chain head it continues: the digest and sequence of the newest sealed manifest when it was taken. */
  previousManifestSha256: z.string().regex(SHA256),
  previousSequence: z.number().int().positive(),
});

export type PitrTail = z.output<typeof pitrTailSchema>;

export function pitrTailSignedBytes(tail: PitrTail): Buffer {
  return Buffer.from(SIGNING_CONTEXT + canonicalJson(tail), 'utf8');
}

export function signPitrTail(tail: PitrTail, privateKey: KeyObject | string): string {
  return signEnvelope(tail, pitrTailSignedBytes(tail), privateKey);
}

export type TrustedPitrTail = { ok: true; tail: PitrTail } | { ok: false; reason: string };

/** Well-formed, signed by one of `trustedKeys` under the tail's context, and describing `file`. */
export function readPitrTail(text: string, trustedKeys: readonly string[], file: string): TrustedPitrTail {
  const parsedFile = readSignedEnvelope(text);
  if (!parsedFile.ok) return parsedFile;
  const parsed = pitrTailSchema.safeParse(parsedFile.data.manifest);
  if (!parsed.success) return { ok: false, reason: `the manifest is not ${PITR_TAIL_FORMAT}` };
  const refused = signatureProblem(parsedFile.data.signature, pitrTailSignedBytes(parsed.data), trustedKeys);
  if (refused) return { ok: false, reason: refused };
  if (parsed.data.file !== file)
    return { ok: false, reason: `the manifest describes ${parsed.data.file}, not ${file}` };
  return { ok: true, tail: parsed.data };
}
