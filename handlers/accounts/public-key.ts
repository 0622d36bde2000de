// Checks a submitted public key: PEM, ed25519, and never a secret key; returns it re-encoded as SPKI PEM.
import { createPublicKey } from 'node:crypto';
import { AppError } from '../errors';

export function normalizePublicKey(pem: string): string {
  if (/PRIVATE KEY/.test(pem)) {
    // The secret key has now crossed the network: say so, so that the user makes a new pair.
    throw new AppError(
      'USER.SECRET_KEY_SENT',
      'invalid',
      'The request carried a secret key instead of a public key.',
      {
        suggestion: 'Treat that secret key as leaked: make a new key pair and send only its public key.',
      },
    );
  }
  let key;
  try {
    key = createPublicKey({ key: pem, format: 'pem' });
  } catch {
    throw new AppError('USER.KEY_INVALID', 'invalid', 'The public key is not a PEM-encoded public key.', {
      suggestion:
        'Send an SPKI PEM ed25519 public key, e.g. made with `openssl pkey -in secret.pem -pubout`.',
    });
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new AppError(
      'USER.KEY_TYPE',
      'invalid',
      `The public key is ${key.asymmetricKeyType ?? 'of an unknown type'}, not ed25519.`,
      {
        suggestion: 'Make an ed25519 key pair, e.g. with `openssl genpkey -algorithm ed25519`.',
      },
    );
  }
  return key.export({ type: 'spki', format: 'pem' }).toString();
}
