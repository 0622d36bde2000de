// The off-site transfers the executor sidecar runs for the server (the files live in the sidecar's volume). Least
// privilege: the sidecar writes only to the store of its own settings (its environment, with its own AWS credential
// chain); a request naming another bucket, prefix or endpoint is refused, so whoever holds the token cannot send the
// backups elsewhere. The request carries the object policy (checksum mode, lock) as the server's config sets it.
import { z } from 'zod';
import { AppError } from '../../handlers/errors';
import { formatOffsiteLocation, parseOffsiteLocation } from '../../handlers/offsite/location';
import type { OffsiteSettings } from '../../handlers/offsite/model';
import type { OffsiteStore } from '../../handlers/ports/offsite-store';
import { OFFSITE_NAMING } from '../offsite/backup-format';
import { createLazyS3OffsiteStore } from '../offsite/s3-store';

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

/** The store a sidecar was started with: where it sends backups, and how it connects there. */
export interface SidecarOffsite {
  bucket: string;
  prefix: string;
  endpoint: string | null; // null: AWS
  region: string | null;
  forcePathStyle: boolean;
}

/** An endpoint compared by what it addresses: scheme, host, port and path, without a trailing slash. */
export function normalizeEndpoint(endpoint: string | null): string | null {
  if (endpoint === null) return null;
  try {
    const url = new URL(endpoint);
    return `${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, '')}`;
  } catch {
    return endpoint;
  }
}

export function describeSidecarOffsite(own: SidecarOffsite): string {
  return `${formatOffsiteLocation(own)} at ${own.endpoint ?? 'AWS S3'}`;
}

/**
 * The settings a transfer runs with: the sidecar's own store, with the request's object policy. Refuses a request
 * when the sidecar has no store, or names another one.
 */
export function sidecarTransferSettings(
  own: SidecarOffsite | undefined,
  asked: OffsiteSettings,
): OffsiteSettings {
  const askedStore = `${formatOffsiteLocation(asked)} at ${asked.endpoint ?? 'AWS S3'}`;
  if (!own) {
    throw new AppError(
      'EXECUTOR.OFFSITE_NOT_CONFIGURED',
      'misconfigured',
      `The executor sidecar has no off-site store configured, so it refuses to copy to ${askedStore}.`,
      {
        suggestion:
          'Start the sidecar with BOMNIPOTENT_EXECUTOR_OFFSITE (and BOMNIPOTENT_EXECUTOR_S3_ENDPOINT, _S3_REGION, _S3_FORCE_PATH_STYLE as needed) naming the same store as offsite in the server config.',
      },
    );
  }
  const same =
    own.bucket === asked.bucket &&
    own.prefix === asked.prefix &&
    normalizeEndpoint(own.endpoint) === normalizeEndpoint(asked.endpoint);
  if (!same) {
    throw new AppError(
      'EXECUTOR.OFFSITE_STORE_MISMATCH',
      'forbidden',
      `The executor sidecar copies only to its own store ${describeSidecarOffsite(own)}; it refuses a transfer to ${askedStore}.`,
      {
        suggestion:
          'Make offsite and s3_endpoint in the server config name the same store as BOMNIPOTENT_EXECUTOR_OFFSITE and BOMNIPOTENT_EXECUTOR_S3_ENDPOINT of the sidecar.',
      },
    );
  }
  return {
    ...asked,
    bucket: own.bucket,
    prefix: own.prefix,
    endpoint: own.endpoint,
    region: own.region,
    forcePathStyle: own.forcePathStyle,
  };
}

export function offsiteStoreFor(settings: OffsiteSettings, directory: string): OffsiteStore {
  return createLazyS3OffsiteStore({ settings, naming: OFFSITE_NAMING, directory });
}
