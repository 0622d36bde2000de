// The off-site transfers the executor sidecar runs for the server (the files live in the sidecar's volume): the
// request carries the store's settings (never a credential: the sidecar uses its own AWS credential chain).
import { z } from 'zod';
import { parseOffsiteLocation } from '../../handlers/offsite/location';
import type { OffsiteSettings, OffsiteStore } from '../../handlers/offsite/ports';
import { OFFSITE_NAMING } from './format';
import { createLazyS3OffsiteStore } from './s3-store';

const offsiteSettings = z
  .strictObject({
    bucket: z.string().min(3).max(63),
    prefix: z.string().max(1024),
    endpoint: z.url({ protocol: /^https?$/ }).nullable(),
    region: z.string().max(64).nullable(),
    forcePathStyle: z.boolean(),
    checksum: z.enum(['when_supported', 'when_required']),
    keep: z.number().int().positive().nullable(),
    lockDays: z.number().int().positive().max(36500).nullable(),
    lockMode: z.enum(['GOVERNANCE', 'COMPLIANCE']),
  })
  .refine((s) => {
    // The same rule as the config's: no key may leave the prefix.
    const parsed = parseOffsiteLocation(`s3://${s.bucket}/${s.prefix}`);
    return typeof parsed !== 'string' && parsed.prefix === s.prefix;
  }, 'must be a valid bucket and prefix');

export const offsiteTransferBody = z
  .strictObject({
    directory: z.string().min(1).max(4096),
    file: z.string().min(1).max(255),
    manifestFile: z.string().min(1).max(300),
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
    offsite: offsiteSettings,
  })
  .refine(
    (b) => b.manifestFile === OFFSITE_NAMING.manifestFor(b.file),
    'manifestFile must be the manifest of file',
  );

export function offsiteStoreFor(settings: OffsiteSettings): OffsiteStore {
  return createLazyS3OffsiteStore({ settings, naming: OFFSITE_NAMING });
}
