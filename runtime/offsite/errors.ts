// The OFFSITE.* errors: one place turns what the SDK or the network said into a sentence naming the bucket and the
// reason. The store's own message is never passed on verbatim (some echo request details); credentials never appear.
import { AppError } from '../../handlers/errors';

export const OFFSITE_ERRORS = {
  UNREACHABLE: 'OFFSITE.UNREACHABLE',
  ACCESS_DENIED: 'OFFSITE.ACCESS_DENIED',
  NO_SUCH_BUCKET: 'OFFSITE.NO_SUCH_BUCKET',
  WRONG_REGION: 'OFFSITE.WRONG_REGION',
  NO_CREDENTIALS: 'OFFSITE.NO_CREDENTIALS',
  CONFLICT: 'OFFSITE.CONFLICT',
  CHECKSUM_MISMATCH: 'OFFSITE.CHECKSUM_MISMATCH',
  NOT_CONFIRMED: 'OFFSITE.NOT_CONFIRMED',
  NOT_FOUND: 'OFFSITE.NOT_FOUND',
  REFUSED: 'OFFSITE.REFUSED',
  CANCELLED: 'OFFSITE.CANCELLED',
  LOCAL_FILE: 'OFFSITE.LOCAL_FILE',
} as const;

interface SdkErrorShape {
  name?: unknown;
  code?: unknown;
  $metadata?: { httpStatusCode?: unknown };
  cause?: unknown;
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'TimeoutError',
  'RequestTimeout',
]);

function shape(error: unknown): { name: string; status: number | null; network: string | null } {
  const e = (typeof error === 'object' && error !== null ? error : {}) as SdkErrorShape;
  const name = typeof e.name === 'string' ? e.name : 'Error';
  const status = typeof e.$metadata?.httpStatusCode === 'number' ? e.$metadata.httpStatusCode : null;
  const code = typeof e.code === 'string' ? e.code : null;
  const causeCode =
    typeof e.cause === 'object' && e.cause !== null && typeof (e.cause as SdkErrorShape).code === 'string'
      ? ((e.cause as SdkErrorShape).code as string)
      : null;
  const network = [code, causeCode, name].find((c) => c !== null && NETWORK_CODES.has(c)) ?? null;
  return { name, status, network };
}

/** `what` says what was being done, e.g. "uploading db_20260111_103024.dump". */
export function classifyOffsiteError(error: unknown, location: string, what: string): AppError {
  if (error instanceof AppError) return error;
  const { name, status, network } = shape(error);
  const at = `Off-site store ${location}: ${what} failed`;
  const local = localFailure(error, name, at);
  if (local) return local;
  if (network !== null || status === null) {
    return new AppError(
      OFFSITE_ERRORS.UNREACHABLE,
      'unavailable',
      `${at}: the store did not answer (${network ?? name}).`,
      {
        suggestion:
          'Check s3_endpoint, the network and the store. The local backup is kept and the copy is retried on the next run.',
        cause: error,
      },
    );
  }
  return setUpRefusal(name, status, at) ?? storeRefusal(name, status, at);
}

/** What failed before anything reached the store: cancelled, no credentials, no region. */
function localFailure(error: unknown, name: string, at: string): AppError | null {
  if (name === 'AbortError') {
    return new AppError(OFFSITE_ERRORS.CANCELLED, 'failed', `${at}: cancelled.`, { cause: error });
  }
  if (name === 'CredentialsProviderError') {
    return new AppError(
      OFFSITE_ERRORS.NO_CREDENTIALS,
      'misconfigured',
      `${at}: no AWS credentials were found.`,
      {
        suggestion:
          'Give the server credentials through the standard AWS chain: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE with ~/.aws/credentials, or a container, instance or Lambda role. Never in config.toml.',
      },
    );
  }
  if (error instanceof Error && /region is missing/i.test(error.message)) {
    return new AppError(OFFSITE_ERRORS.WRONG_REGION, 'misconfigured', `${at}: no region is configured.`, {
      suggestion: "Set s3_region to the bucket's region, or AWS_REGION in the server's environment.",
    });
  }
  return null;
}

/** The store answered that the set-up is wrong: no such bucket, another region, access denied. */
function setUpRefusal(name: string, status: number, at: string): AppError | null {
  if (name === 'NoSuchBucket') {
    return new AppError(OFFSITE_ERRORS.NO_SUCH_BUCKET, 'misconfigured', `${at}: the bucket does not exist.`, {
      suggestion:
        'Create the bucket (with versioning and Object Lock for immutable copies) or fix `offsite`.',
    });
  }
  if (
    name === 'PermanentRedirect' ||
    name === 'AuthorizationHeaderMalformed' ||
    name === 'IllegalLocationConstraintException' ||
    status === 301
  ) {
    return new AppError(
      OFFSITE_ERRORS.WRONG_REGION,
      'misconfigured',
      `${at}: the bucket is in another region.`,
      {
        suggestion: "Set s3_region to the bucket's region (or s3_endpoint to the store's address).",
      },
    );
  }
  if (
    status === 403 ||
    name === 'AccessDenied' ||
    name === 'InvalidAccessKeyId' ||
    name === 'SignatureDoesNotMatch'
  ) {
    return new AppError(
      OFFSITE_ERRORS.ACCESS_DENIED,
      'failed',
      `${at}: access denied (${name}, HTTP ${status}).`,
      {
        suggestion:
          'Check the credentials of the AWS chain and that their policy allows s3:PutObject, s3:GetObject, s3:ListBucket and s3:DeleteObject on the bucket and prefix (see the README).',
      },
    );
  }
  return null;
}

/** Any other answer of the store: a conflict, no such object, or a refusal named as the store named it. */
function storeRefusal(name: string, status: number, at: string): AppError {
  if (status === 412) {
    return new AppError(
      OFFSITE_ERRORS.CONFLICT,
      'conflict',
      `${at}: the key exists already and is never rewritten.`,
    );
  }
  if (status === 404) {
    return new AppError(OFFSITE_ERRORS.NOT_FOUND, 'not_found', `${at}: no such object.`);
  }
  return new AppError(
    OFFSITE_ERRORS.REFUSED,
    'failed',
    `${at}: the store answered ${name} (HTTP ${status}).`,
    {
      suggestion:
        status === 501 || status === 400
          ? 'Some S3-compatible stores refuse the checksums the SDK sends by default: try s3_checksum = "when_required".'
          : 'See the store’s documentation for this error; the local backup is kept and the copy is retried on the next run.',
    },
  );
}
