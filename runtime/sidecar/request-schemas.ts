// The request bodies the executor sidecar accepts, checked at its edge before any operation runs.
import { z } from 'zod';
import { offsiteTransferBody } from './offsite-transfer';

const directory = z.string().min(1).max(4096);
const file = z.string().min(1).max(255);

// PostgreSQL identifiers the tools get as arguments: plain names only, at most 63 bytes.
const databaseName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_$-]{0,62}$/, 'must be a plain database name');

const seed = z.looseObject({
  format: z.enum(['bomnipotent-backup/1', 'bomnipotent-backup/2']),
  database: z.string().min(1),
  serverVersion: z.string(),
  schemaVersion: z.number().int(),
  appVersion: z.string(),
  startedAt: z.string(),
  trigger: z.enum(['scheduled', 'manual']),
  user: z.string().nullable(),
});

const auditRecord = z.strictObject({
  at: z.string(),
  action: z.enum(['backup', 'restore', 'restore-dry-run']),
  outcome: z.enum(['started', 'succeeded', 'failed', 'refused']),
  user: z.string().nullable(),
  trigger: z.enum(['scheduled', 'manual']),
  file: z.string().max(255).nullable(),
  message: z.string().max(16_384),
});

const publicKey = z.string().regex(/^ed25519:[A-Za-z0-9+/]{43}=$/);
const trust = z.strictObject({ trustedKeys: z.array(publicKey).max(100) });
const readOptions = z.strictObject({
  trustedKeys: z.array(publicKey).max(100),
  allowUnsigned: z.boolean().optional(),
  identityFile: z.string().max(4096).optional(),
  checkLoad: z.boolean().optional(),
});

export const sidecarBodies = {
  probe: z.strictObject({ serverMajor: z.number().int().min(1).max(1000) }),
  dump: z.strictObject({
    directory,
    seed,
    options: z.strictObject({
      compression: z.enum(['zstd', 'gzip', 'none']),
      encryptionRecipients: z.array(z.string().regex(/^age1[0-9a-z]{58}$/)).max(100),
    }),
    minSequence: z.number().int().positive(),
    signerPublicKey: publicKey,
  }),
  list: z.strictObject({ directory, trust }),
  verify: z.strictObject({ directory, file, options: readOptions }),
  prune: z.strictObject({
    directory,
    database: z.string().min(1).max(255),
    keep: z.number().int().positive(),
    trust,
  }),
  signature: z.union([
    z.strictObject({ id: z.string().uuid(), manifestFile: z.string().max(64 * 1024) }),
    // An audit line's signature (the line itself stays in the sidecar, which asked for it).
    z.strictObject({
      id: z.string().uuid(),
      sig: z.strictObject({ publicKey, value: z.string().regex(/^[A-Za-z0-9+/]{86}==$/) }),
    }),
  ]),
  remove: z.strictObject({ directory, file }),
  freeBytes: z.strictObject({ directory }),
  restore: z.strictObject({
    directory,
    file,
    targetDatabase: databaseName,
    read: readOptions,
    serverMajor: z.number().int().min(1).max(1000).optional(),
    locale: z
      .strictObject({
        encoding: z.string().max(128),
        collate: z.string().max(128),
        ctype: z.string().max(128),
        provider: z.enum(['libc', 'icu']),
        icuLocale: z.string().max(128).nullable(),
      })
      .optional(),
    countRows: z.boolean().optional(),
  }),
  writeRehearsal: z.strictObject({ directory, file, recordFile: z.string().max(64 * 1024) }),
  appendAudit: z.strictObject({ directory, record: auditRecord }),
  offsiteUpload: offsiteTransferBody,
  offsiteDownload: offsiteTransferBody,
};

/** A request body of each operation, as the schema hands it on. */
export type Bodies = { [K in keyof typeof sidecarBodies]: z.output<(typeof sidecarBodies)[K]> };
