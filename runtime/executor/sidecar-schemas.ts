// The request bodies the executor sidecar accepts, checked at its edge before any operation runs.
import { z } from 'zod';
import { offsiteTransferBody } from '../offsite/sidecar-schema';

const directory = z.string().min(1).max(4096);
const file = z.string().min(1).max(255);

// PostgreSQL identifiers the tools get as arguments: plain names only, at most 63 bytes.
const databaseName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_$-]{0,62}$/, 'must be a plain database name');

const seed = z.looseObject({
  format: z.literal('bomnipotent-backup/1'),
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
  outcome: z.enum(['succeeded', 'failed', 'refused']),
  user: z.string().nullable(),
  trigger: z.enum(['scheduled', 'manual']),
  file: z.string().max(255).nullable(),
  message: z.string().max(16_384),
});

export const sidecarBodies = {
  probe: z.strictObject({ serverMajor: z.number().int().min(1).max(1000) }),
  dump: z.strictObject({ directory, file, seed }),
  list: z.strictObject({ directory }),
  verify: z.strictObject({ directory, file }),
  remove: z.strictObject({ directory, file }),
  freeBytes: z.strictObject({ directory }),
  restore: z.strictObject({
    directory,
    file,
    targetDatabase: databaseName,
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
  }),
  appendAudit: z.strictObject({ directory, record: auditRecord }),
  offsiteUpload: offsiteTransferBody,
  offsiteDownload: offsiteTransferBody,
};
