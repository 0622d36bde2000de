// Request signatures (client side): ed25519 over the canonical string of handlers/accounts/canonical.ts.
import { createPrivateKey, randomBytes, sign } from 'node:crypto';
import {
  bodyDigest,
  canonicalString,
  HEADER_DOMAIN,
  HEADER_NONCE,
  HEADER_SIGNATURE,
  HEADER_TIMESTAMP,
  HEADER_USER,
  originOf,
} from '../handlers/accounts/canonical';

export interface SignInput {
  method: string;
  /** The server as the user addressed it (--domain): the signature is valid for that server only. */
  baseUrl: string;
  pathAndQuery: string;
  user: string;
  body: string;
  secretKeyPem: string;
  now?: Date;
  nonce?: string;
}

/** The path and query in the form fetch sends on the request line (WHATWG URL normalization), which the server sees. */
function normalizedPathAndQuery(pathAndQuery: string): string {
  const url = new URL(pathAndQuery, 'http://signing.invalid');
  return url.pathname + url.search;
}

/** Headers that authenticate a request. */
export function signRequest(input: SignInput): Record<string, string> {
  let key;
  try {
    key = createPrivateKey({ key: input.secretKeyPem, format: 'pem' });
  } catch {
    throw new Error('The secret key is not a PEM-encoded (PKCS#8) private key: check --secret-key.');
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new Error(
      `The secret key is ${key.asymmetricKeyType ?? 'of an unknown type'}, not ed25519: check --secret-key.`,
    );
  }
  const timestamp = (input.now ?? new Date()).toISOString();
  const origin = originOf(input.baseUrl);
  if (origin === null) throw new Error(`Cannot sign for "${input.baseUrl}": it is not an http(s) URL.`);
  const nonce = input.nonce ?? randomBytes(16).toString('base64url');
  const data = canonicalString({
    method: input.method,
    origin,
    nonce,
    pathAndQuery: normalizedPathAndQuery(input.pathAndQuery),
    user: input.user,
    timestamp,
    bodySha256: bodyDigest(input.body),
  });
  return {
    [HEADER_USER]: input.user,
    [HEADER_TIMESTAMP]: timestamp,
    [HEADER_DOMAIN]: origin,
    [HEADER_NONCE]: nonce,
    [HEADER_SIGNATURE]: sign(null, Buffer.from(data), key).toString('base64'),
  };
}
