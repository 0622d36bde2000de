// The string a request signature covers, built the same way by the client (client/signing.ts) and the server.
import { createHash } from 'node:crypto';

// V2 (this version) adds the server's origin and a per-request nonce to what V1 signed; V1 signatures are refused.
export const SIGNATURE_SCHEME = 'BOMNIPOTENT-ED25519-V2';

export const HEADER_USER = 'x-bomnipotent-user';
export const HEADER_TIMESTAMP = 'x-bomnipotent-timestamp';
export const HEADER_SIGNATURE = 'x-bomnipotent-signature';
export const HEADER_DOMAIN = 'x-bomnipotent-domain';
export const HEADER_NONCE = 'x-bomnipotent-nonce';

/** 16 to 64 characters of base64url: the client sends 22 (16 random bytes). */
export const NONCE_FORM = /^[A-Za-z0-9_-]{16,64}$/;

export interface CanonicalInput {
  method: string;
  origin: string; // the server as the client addressed it: scheme://host[:port], lower case, see originOf
  nonce: string; // exactly as in the nonce header
  pathAndQuery: string; // exactly as on the request line, e.g. /users/a%40b.com/approve?x=1
  user: string; // exactly as in the user header
  timestamp: string; // exactly as in the timestamp header
  bodySha256: string; // lowercase hex SHA-256 of the raw body bytes (of the empty string when there is none)
}

/** Hex SHA-256 of the exact body bytes; the empty body has a digest too, so that "no body" is signed as well. */
export function bodyDigest(body: string | Uint8Array): string {
  return createHash('sha256').update(body).digest('hex');
}

/**
 * Eight lines joined by "\n", no trailing newline: scheme, METHOD, origin, path?query, user, timestamp, nonce and
 * body digest. The origin binds a signature to one server; the nonce makes two identical requests differ.
 */
export function canonicalString(input: CanonicalInput): string {
  return [
    SIGNATURE_SCHEME,
    input.method.toUpperCase(),
    input.origin,
    input.pathAndQuery,
    input.user,
    input.timestamp,
    input.nonce,
    input.bodySha256.toLowerCase(),
  ].join('\n');
}

/** scheme://host[:port] of a domain as users write it: no scheme means https; default ports are dropped. null if bad. */
export function originOf(domain: string): string | null {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(domain) ? domain : `https://${domain}`;
  try {
    const url = new URL(withScheme);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return null;
    return url.origin.toLowerCase();
  } catch {
    return null;
  }
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
