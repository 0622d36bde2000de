// Backup format 2: the signed manifest next to each data file. Its schema, the canonical bytes the Ed25519 signature
// covers, signing, and the trust decision given the public keys this server trusts. Pure: importable by any runtime
// (the executor, the off-site copier, the rehearsal) without pulling in one of them.
import { createHash, createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { z } from 'zod';
import { parseBackupFileName, nameStamp } from './naming';

export const MANIFEST_FORMAT = 'bomnipotent-backup/2';
/** Prefixed to the canonical JSON before signing, so that a manifest signature can never pass for another kind. */
const SIGNING_CONTEXT = 'BOMNIPOTENT-BACKUP-MANIFEST-V2\n';
const PUBLIC_KEY = /^ed25519:[A-Za-z0-9+/]{43}=$/;
const SHA256 = /^[0-9a-f]{64}$/;

export const manifestSchema = z.strictObject({
  format: z.literal(MANIFEST_FORMAT),
  file: z.string().min(1).max(255), // bare name of the data file
  sizeBytes: z.number().int().nonnegative(), // of the stored (compressed, encrypted) bytes
  sha256: z.string().regex(SHA256), // of the stored bytes
  database: z.string().min(1),
  createdAt: z.iso.datetime(), // when the dump started, UTC; "latest" is decided by this, never by the name
  durationMs: z.number().int().nonnegative(),
  serverVersion: z.string(),
  pgDumpVersion: z.string(),
  schemaVersion: z.number().int(),
  appVersion: z.string(),
  compression: z.enum(['zstd', 'gzip', 'none']),
  encryption: z.strictObject({ scheme: z.literal('age'), recipients: z.array(z.string()).min(1) }).nullable(),
  /** The dump opens with `\restrict <key>` and closes with `\unrestrict <key>` (pg_dump 15.14+ and peers). */
  restricted: z.boolean(),
  sequence: z.number().int().positive(), // 1, 2, 3 ... per signing server and database
  previousManifestSha256: z.string().regex(SHA256).nullable(), // sha256 of the previous manifest's signed bytes
  trigger: z.enum(['scheduled', 'manual']),
  user: z.string().nullable(),
});

export type BackupManifest = z.output<typeof manifestSchema>;

export const signatureSchema = z.strictObject({
  algorithm: z.literal('ed25519'),
  publicKey: z.string().regex(PUBLIC_KEY),
  value: z.string().min(1).max(200), // base64 of the 64-byte signature
});

export const manifestFileSchema = z.strictObject({
  manifest: z.unknown(),
  signature: signatureSchema,
});

export type ManifestSignature = z.output<typeof signatureSchema>;

/** Keys sorted at every level, no white space: the same manifest always gives the same bytes. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** The exact bytes a signature covers. */
export function signedBytes(manifest: BackupManifest): Buffer {
  return Buffer.from(SIGNING_CONTEXT + canonicalJson(manifest), 'utf8');
}

/** The chain link: what the next manifest names as its previous one. */
export function manifestDigest(manifest: BackupManifest): string {
  return createHash('sha256').update(signedBytes(manifest)).digest('hex');
}

/** `ed25519:<base64 of the raw 32-byte key>`, the form trusted_keys takes and the server logs. */
export function publicKeyId(key: KeyObject): string {
  const jwk = key.export({ format: 'jwk' });
  if (jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519' || typeof jwk.x !== 'string')
    throw new Error('not an Ed25519 key');
  return `ed25519:${Buffer.from(jwk.x, 'base64url').toString('base64')}`;
}

export function isPublicKeyId(text: string): boolean {
  return PUBLIC_KEY.test(text) && Buffer.from(text.slice('ed25519:'.length), 'base64').length === 32;
}

export function keyObjectOf(id: string): KeyObject {
  const x = Buffer.from(id.slice('ed25519:'.length), 'base64').toString('base64url');
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x }, format: 'jwk' });
}

/** Signs with a PKCS#8 Ed25519 key (PEM text or KeyObject); the manifest file as written to disk. */
export function signManifest(manifest: BackupManifest, privateKey: KeyObject | string): string {
  return signEnvelope(manifest, signedBytes(manifest), privateKey);
}

/**
 * The one signing routine of every signed file (a dump's manifest, a PITR manifest): `bytes` are what the signature
 * covers (the kind's own context, then the canonical JSON); the file holds the manifest and its signature.
 */
export function signEnvelope(manifest: unknown, bytes: Buffer, privateKey: KeyObject | string): string {
  const key = typeof privateKey === 'string' ? createPrivateKey(privateKey) : privateKey;
  const value = sign(null, bytes, key).toString('base64');
  return (
    JSON.stringify(
      { manifest, signature: { algorithm: 'ed25519', publicKey: publicKeyId(createPublicKey(key)), value } },
      null,
      2,
    ) + '\n'
  );
}

/** The one check of a signature over `bytes`: why it does not make them trusted by `trustedKeys`, or null. */
export function signatureProblem(
  signature: ManifestSignature,
  bytes: Buffer,
  trustedKeys: readonly string[],
): string | null {
  if (!isPublicKeyId(signature.publicKey)) return 'the signing key is malformed';
  if (!trustedKeys.includes(signature.publicKey))
    return `signed by a key this server does not trust (${signature.publicKey})`;
  let valid = false;
  try {
    valid = verify(null, bytes, keyObjectOf(signature.publicKey), Buffer.from(signature.value, 'base64'));
  } catch {
    valid = false;
  }
  return valid ? null : 'the signature does not match the manifest (forged or altered)';
}

export function serializeManifestFile(manifest: BackupManifest, signature: ManifestSignature): string {
  return JSON.stringify({ manifest, signature }, null, 2) + '\n';
}

export type TrustedManifest =
  { ok: true; manifest: BackupManifest; publicKey: string } | { ok: false; reason: string };

/** Manifest files are small; anything larger is not one of ours. */
export const MAX_MANIFEST_BYTES = 64 * 1024;

/** A signed file's envelope ({ manifest, signature }) from its text, or why it is not one. */
export function readSignedEnvelope(
  text: string,
): { ok: true; data: z.output<typeof manifestFileSchema> } | { ok: false; reason: string } {
  if (text.length > MAX_MANIFEST_BYTES) return { ok: false, reason: 'the manifest is too large' };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ok: false, reason: 'the manifest is not valid JSON' };
  }
  const file = manifestFileSchema.safeParse(json);
  if (!file.success) return { ok: false, reason: 'the manifest file is malformed or unsigned' };
  return { ok: true, data: file.data };
}

/**
 * The trust decision for the bytes of a manifest file: well-formed, signed by one of `trustedKeys`
 * (`ed25519:...`), and, when `dataFile` is given, describing that very file with a name that matches its signed
 * creation time. Checks nothing about the data file's bytes (see the executor's verify).
 */
export function readTrustedManifest(
  bytes: Uint8Array | string,
  trustedKeys: readonly string[],
  dataFile?: string,
): TrustedManifest {
  const file = readSignedEnvelope(typeof bytes === 'string' ? bytes : Buffer.from(bytes).toString('utf8'));
  if (!file.ok) return file;
  const parsed = manifestSchema.safeParse(file.data.manifest);
  if (!parsed.success) {
    const fields = [...new Set(parsed.error.issues.map((i) => i.path.join('.') || '(root)'))].join(', ');
    return { ok: false, reason: `the manifest is not ${MANIFEST_FORMAT} (bad fields: ${fields})` };
  }
  const manifest = parsed.data;
  const { signature } = file.data;
  const refused = signatureProblem(signature, signedBytes(manifest), trustedKeys);
  if (refused) return { ok: false, reason: refused };
  const problem = nameProblem(manifest, dataFile);
  if (problem) return { ok: false, reason: problem };
  return { ok: true, manifest, publicKey: signature.publicKey };
}

/** A signed manifest must describe the file it sits next to, under a name that carries its signed time and format. */
function nameProblem(manifest: BackupManifest, dataFile: string | undefined): string | null {
  if (dataFile !== undefined && manifest.file !== dataFile)
    return `the manifest describes ${manifest.file}, not ${dataFile} (renamed)`;
  const parsed = parseBackupFileName(manifest.file);
  if (!parsed) return `the manifest names ${manifest.file}, which is not a backup file name`;
  if (parsed.database !== manifest.database)
    return `the file name's database is not the signed database ${manifest.database}`;
  if (nameStamp(parsed.takenAt) !== nameStamp(new Date(manifest.createdAt)))
    return `the time in the file name does not match the signed creation time ${manifest.createdAt}`;
  if (parsed.compression !== manifest.compression || parsed.encrypted !== (manifest.encryption !== null))
    return 'the file name’s suffix does not match the signed compression and encryption';
  return null;
}
