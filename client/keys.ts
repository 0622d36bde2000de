// The user's ed25519 key pair: made on first use in the config folder (or next to a given path), never overwritten.
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { clientConfigDir } from './paths';

export interface ResolvedKey {
  publicKeyPem: string;
  publicKeyPath: string;
  secretKeyPath: string | undefined; // undefined when the user gave a public key made elsewhere
  created: boolean; // a new pair was written by this call
}

export function defaultKeyPaths(env: NodeJS.ProcessEnv = process.env): {
  secretKeyPath: string;
  publicKeyPath: string;
} {
  const dir = clientConfigDir(env);
  return { secretKeyPath: join(dir, 'secret_key.pem'), publicKeyPath: join(dir, 'public_key.pem') };
}

/** The default secret key, when `user request` made one: lets `--user` alone sign requests. */
export function existingDefaultSecretKey(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const { secretKeyPath } = defaultKeyPaths(env);
  return existsSync(secretKeyPath) ? secretKeyPath : undefined;
}

function writePair(secretKeyPath: string, publicKeyPath: string): void {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519', {
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  mkdirSync(dirname(secretKeyPath), { recursive: true, mode: 0o700 });
  // 'wx': never overwrite a key someone may still need; 0600: the secret key is for its owner only.
  writeFileSync(secretKeyPath, privateKey, { mode: 0o600, flag: 'wx' });
  writeFileSync(publicKeyPath, publicKey, { mode: 0o644, flag: 'wx' });
}

/** The public key in a PEM file; a secret key is refused so that it is never sent. */
export function readPublicKeyFile(path: string): string {
  const text = readFileSync(path, 'utf8');
  if (/PRIVATE KEY/.test(text)) {
    throw new Error(
      `"${path}" holds a secret key, which must never leave your machine: pass the public key file instead.`,
    );
  }
  try {
    const key = createPublicKey({ key: text, format: 'pem' });
    if (key.asymmetricKeyType !== 'ed25519') throw new Error('not ed25519');
  } catch {
    throw new Error(
      `"${path}" is not an ed25519 public key in PEM format (e.g. made by \`openssl genpkey -algorithm ed25519\`).`,
    );
  }
  return text;
}

function derivePublicKey(secretKeyPath: string, publicKeyPath: string): void {
  const pem = createPublicKey(readFileSync(secretKeyPath, 'utf8'))
    .export({ type: 'spki', format: 'pem' })
    .toString();
  writeFileSync(publicKeyPath, pem, { mode: 0o644, flag: 'wx' });
}

function usePair(secretKeyPath: string, publicKeyPath: string): ResolvedKey {
  let created = false;
  if (!existsSync(secretKeyPath) && !existsSync(publicKeyPath)) {
    writePair(secretKeyPath, publicKeyPath);
    created = true;
  } else if (existsSync(secretKeyPath) && !existsSync(publicKeyPath)) {
    derivePublicKey(secretKeyPath, publicKeyPath);
  }
  const hasSecret = existsSync(secretKeyPath);
  return {
    publicKeyPem: readPublicKeyFile(publicKeyPath),
    publicKeyPath,
    secretKeyPath: hasSecret ? secretKeyPath : undefined,
    created,
  };
}

/**
 * The key that `user request` sends. No path: the pair in the config folder (made on first use).
 * An existing file: must be a public key. A path that does not exist: `<path>_secret_key.pem` and `<path>_public_key.pem`.
 */
export function resolveRequestKey(
  keyPath: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): ResolvedKey {
  if (keyPath === undefined) {
    const { secretKeyPath, publicKeyPath } = defaultKeyPaths(env);
    return usePair(secretKeyPath, publicKeyPath);
  }
  const path = resolve(keyPath);
  if (existsSync(path)) {
    if (!statSync(path).isFile())
      throw new Error(`"${path}" is not a file: pass a public key file or a new path.`);
    return {
      publicKeyPem: readPublicKeyFile(path),
      publicKeyPath: path,
      secretKeyPath: undefined,
      created: false,
    };
  }
  return usePair(`${path}_secret_key.pem`, `${path}_public_key.pem`);
}
