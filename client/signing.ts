// Request signatures (client side): ed25519 over the canonical string of handlers/accounts/canonical.ts.
import { createPrivateKey, sign } from 'node:crypto';
import {
  bodyDigest,
  canonicalString,
  HEADER_SIGNATURE,
  HEADER_TIMESTAMP,
  HEADER_USER,
} from '../handlers/accounts/canonical';

export interface SignInput {
  method: string;
  pathAndQuery: string;
  user: string;
  body: string;
  secretKeyPem: string;
  now?: Date;
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
  const data = canonicalString({
    method: input.method,
    pathAndQuery: normalizedPathAndQuery(input.pathAndQuery),
    user: input.user,
    timestamp,
    bodySha256: bodyDigest(input.body),
  });
  return {
    [HEADER_USER]: input.user,
    [HEADER_TIMESTAMP]: timestamp,
    [HEADER_SIGNATURE]: sign(null, Buffer.from(data), key).toString('base64'),
  };
}
