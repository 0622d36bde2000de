// The rehearsal record: `<file>.rehearsal.json` next to a backup, saying whether (and when) the backup was restored
// in full into the standby database, signed with the backup-signing key like the manifest. An unsigned, forged or
// mismatching record counts as "not rehearsed". Pure: the executor reads it, the rehearsal writes it.
import { createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { z } from 'zod';
import { canonicalJson, isPublicKeyId, publicKeyId, signatureSchema, MAX_MANIFEST_BYTES } from './manifest';

export const REHEARSAL_FORMAT = 'bomnipotent-rehearsal/1';
/** Another context than the manifest's: a rehearsal signature can never pass for a manifest, nor the reverse. */
const SIGNING_CONTEXT = 'BOMNIPOTENT-BACKUP-REHEARSAL-V1\n';
const SHA256 = /^[0-9a-f]{64}$/;

export const rehearsalSchema = z.strictObject({
  format: z.literal(REHEARSAL_FORMAT),
  file: z.string().min(1).max(255), // the backup's data file
  sha256: z.string().regex(SHA256), // of the backup's data file, as its manifest signs it
  database: z.string().min(1),
  rehearsedAt: z.iso.datetime(), // when the rehearsal started
  durationMs: z.number().int().nonnegative(),
  ok: z.boolean(),
  tables: z.number().int().nonnegative(), // tables whose rows were counted
  rows: z.number().int().nonnegative(), // rows loaded, over all tables
  schemaVersion: z.number().int().nullable(), // this product's schema version in the restored copy
  /** Rows per table as counted in the restored copy (the dump's names, e.g. public.docs); absent in older records. */
  tableRows: z.record(z.string(), z.number().int().nonnegative()).optional(),
  error: z.string().max(2000).nullable(), // why it failed; null when ok
  /** The standby database built from this backup and its fingerprint at the time; null when none was kept. */
  standby: z
    .strictObject({ database: z.string().min(1), fingerprint: z.string().min(1), sizeBytes: z.number() })
    .nullable(),
});

export type RehearsalRecord = z.output<typeof rehearsalSchema>;

const recordFileSchema = z.strictObject({ rehearsal: z.unknown(), signature: signatureSchema });

export function rehearsalFileName(dataFile: string): string {
  return `${dataFile}.rehearsal.json`;
}

/** The data file a rehearsal record name belongs to, or null. */
export function dataFileOfRehearsal(name: string): string | null {
  return name.endsWith('.rehearsal.json') ? name.slice(0, -'.rehearsal.json'.length) : null;
}

function signedBytes(record: RehearsalRecord): Buffer {
  return Buffer.from(SIGNING_CONTEXT + canonicalJson(record), 'utf8');
}

/** The record file as written to disk, signed with a PKCS#8 Ed25519 key. */
export function signRehearsal(record: RehearsalRecord, privateKey: KeyObject | string): string {
  const key = typeof privateKey === 'string' ? createPrivateKey(privateKey) : privateKey;
  const value = sign(null, signedBytes(record), key).toString('base64');
  const signature = { algorithm: 'ed25519', publicKey: publicKeyId(createPublicKey(key)), value };
  return JSON.stringify({ rehearsal: record, signature }, null, 2) + '\n';
}

export type TrustedRehearsal = { ok: true; record: RehearsalRecord } | { ok: false; reason: string };

/**
 * Trusted when well-formed, signed by one of `trustedKeys`, and about this very backup: the data file's name and the
 * SHA-256 its signed manifest gives (a record copied next to another backup, or left from a replaced file, fails).
 */
export function readTrustedRehearsal(
  text: string,
  trustedKeys: readonly string[],
  dataFile: string,
  sha256: string,
): TrustedRehearsal {
  if (text.length > MAX_MANIFEST_BYTES) return { ok: false, reason: 'the rehearsal record is too large' };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ok: false, reason: 'the rehearsal record is not valid JSON' };
  }
  const file = recordFileSchema.safeParse(json);
  if (!file.success) return { ok: false, reason: 'the rehearsal record is malformed or unsigned' };
  const parsed = rehearsalSchema.safeParse(file.data.rehearsal);
  if (!parsed.success) return { ok: false, reason: `the rehearsal record is not ${REHEARSAL_FORMAT}` };
  const { signature } = file.data;
  if (!isPublicKeyId(signature.publicKey) || !trustedKeys.includes(signature.publicKey))
    return { ok: false, reason: 'the rehearsal record is not signed by a trusted key' };
  let valid = false;
  try {
    const x = Buffer.from(signature.publicKey.slice('ed25519:'.length), 'base64').toString('base64url');
    const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x }, format: 'jwk' });
    valid = verify(null, signedBytes(parsed.data), key, Buffer.from(signature.value, 'base64'));
  } catch {
    valid = false;
  }
  if (!valid)
    return { ok: false, reason: 'the rehearsal record’s signature does not match (forged or altered)' };
  if (parsed.data.file !== dataFile || parsed.data.sha256 !== sha256)
    return { ok: false, reason: 'the rehearsal record is about another file or other bytes' };
  return { ok: true, record: parsed.data };
}
