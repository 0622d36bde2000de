// Builds the S3 client for the offsite settings. Credentials come from the default AWS chain only (environment,
// shared config files, container, instance or Lambda role): the TOML file never holds them.
import type { S3Client } from '@aws-sdk/client-s3';
import type { Sdk } from './sdk';
import type { OffsiteSettings } from '../../handlers/offsite/model';

/** The environment variables the default AWS chain reads (deployment files may pass exactly these to the processes). */
export const AWS_CHAIN_VARIABLES = [
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'AWS_REGION',
  'AWS_PROFILE',
  'AWS_ROLE_ARN',
  'AWS_WEB_IDENTITY_TOKEN_FILE',
] as const;

export interface S3ClientTimeouts {
  connectMs: number; // to open a connection
  idleMs: number; // without a byte moving on an open request: a store that answers slowly fails, not hangs
  maxAttempts: number;
}

export const DEFAULT_TIMEOUTS: S3ClientTimeouts = { connectMs: 10_000, idleMs: 120_000, maxAttempts: 3 };

export function createS3Client(
  sdk: Sdk,
  settings: OffsiteSettings,
  timeouts: S3ClientTimeouts = DEFAULT_TIMEOUTS,
): S3Client {
  const mode = settings.checksum === 'when_required' ? 'WHEN_REQUIRED' : 'WHEN_SUPPORTED';
  return new sdk.S3Client({
    // Compatible stores mostly ignore the region but the signature needs one; AWS without one uses the chain's.
    ...(settings.region !== null
      ? { region: settings.region }
      : settings.endpoint !== null
        ? { region: 'us-east-1' }
        : {}),
    ...(settings.endpoint !== null ? { endpoint: settings.endpoint } : {}),
    forcePathStyle: settings.forcePathStyle,
    requestChecksumCalculation: mode,
    responseChecksumValidation: mode,
    maxAttempts: timeouts.maxAttempts,
    requestHandler: {
      connectionTimeout: timeouts.connectMs,
      requestTimeout: timeouts.idleMs,
      throwOnRequestTimeout: true,
    },
  });
}
