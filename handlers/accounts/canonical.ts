// The string a request signature covers, built the same way by the client (client/signing.ts) and the server.
import { createHash } from 'node:crypto';

export const SIGNATURE_SCHEME = 'BOMNIPOTENT-ED25519-V1';

export const HEADER_USER = 'x-bomnipotent-user';
export const HEADER_TIMESTAMP = 'x-bomnipotent-timestamp';
export const HEADER_SIGNATURE = 'x-bomnipotent-signature';

export interface CanonicalInput {
  method: string;
  pathAndQuery: string; // exactly as on the request line, e.g. /users/a%40b.com/approve?x=1
  user: string; // exactly as in the user header
  timestamp: string; // exactly as in the timestamp header
  bodySha256: string; // lowercase hex SHA-256 of the raw body bytes (of the empty string when there is none)
}

/** Hex SHA-256 of the exact body bytes; the empty body has a digest too, so that "no body" is signed as well. */
export function bodyDigest(body: string | Uint8Array): string {
  return createHash('sha256').update(body).digest('hex');
}

/** Six lines joined by "\n", no trailing newline: scheme, METHOD, path?query, user, timestamp, body digest. */
export function canonicalString(input: CanonicalInput): string {
  return [
    SIGNATURE_SCHEME,
    input.method.toUpperCase(),
    input.pathAndQuery,
    input.user,
    input.timestamp,
    input.bodySha256.toLowerCase(),
  ].join('\n');
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/;
const EPOCH_MS = /^\d{1,15}$/;

/** Milliseconds since the epoch for an RFC 3339 timestamp or a decimal count of milliseconds; null otherwise. */
export function parseTimestamp(text: string): number | null {
  if (EPOCH_MS.test(text)) return Number(text);
  if (!RFC3339.test(text)) return null;
  const ms = Date.parse(text.replace(' ', 'T'));
  return Number.isFinite(ms) ? ms : null;
}
