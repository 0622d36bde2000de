// The backup-signing key: an Ed25519 PKCS#8 PEM file outside the backup directory, generated (0600) on first start
// when `signing_key` is not set (at BOMNIPOTENT_SIGNING_KEY, else next to the config). Backups are refused, never
// written unsigned, when it cannot be read or created.
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import {
  closeSync,
  fstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  writeSync,
  constants,
  fsyncSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import type { BackupTaskSettings } from '../../handlers/backup/settings';
import { publicKeyId, signManifest } from '../../handlers/backup/manifest';
import { signRehearsal } from '../../handlers/backup/rehearsal-record';
import { signAuditEntry } from '../../handlers/backup/audit-chain';
import { signPitrManifest } from '../../handlers/pitr/manifest';
import { signPitrRehearsal } from '../../handlers/pitr/rehearsal-record';
import { signPitrTail } from '../../handlers/pitr/tail-manifest';
import { AppError } from '../../handlers/errors';
import type { Logger } from '../../handlers/ports/logger';
import type { ManifestSigner } from '../../handlers/ports/manifest-signer';

function keyProblem(path: string, reason: string, suggestion: string): AppError {
  return new AppError(
    'BACKUP.SIGNING_KEY_UNUSABLE',
    'misconfigured',
    `The backup-signing key ${path} cannot be used: ${reason}. No backup is written without a signature.`,
    { suggestion },
  );
}

const SUGGESTION =
  'Point signing_key in the database_backup task at a readable Ed25519 PKCS#8 PEM file (openssl genpkey -algorithm ed25519 -out key.pem; chmod 600 key.pem), ' +
  'or remove signing_key to let the server generate one (at BOMNIPOTENT_SIGNING_KEY, else next to its config file).';

const CREATE_SUGGESTION =
  'Set BOMNIPOTENT_SIGNING_KEY to a path in a writable volume outside the backup directory (the key is generated ' +
  'there on first start), or point signing_key in the database_backup task at a key file (a mounted secret).';

const CREATE_REASONS: Record<string, string> = {
  EROFS: 'the file system is read-only',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOTDIR: 'a part of the path is a file, not a directory',
  EEXIST: 'a file of that name appeared while it was being created',
};

/** generateSigningKey, its directory created (0700) when missing; a failure is BACKUP.SIGNING_KEY_UNUSABLE. */
function createSigningKey(path: string): KeyObject {
  try {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    return generateSigningKey(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unknown error';
    throw keyProblem(path, `it cannot be created (${CREATE_REASONS[code] ?? code})`, CREATE_SUGGESTION);
  }
}

/** Reads the key without following a symlink; refuses anything but a private Ed25519 key. */
export function loadSigningKey(path: string): KeyObject {
  let text: string;
  try {
    const fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
    try {
      if (!fstatSync(fd).isFile()) throw Object.assign(new Error('not a file'), { code: 'EINVAL' });
      text = readFileSync(fd, 'utf8');
    } finally {
      closeSync(fd);
    }
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unknown error';
    const reason =
      code === 'ENOENT'
        ? 'the file does not exist'
        : code === 'EACCES'
          ? 'permission denied'
          : code === 'ELOOP'
            ? 'it is a symbolic link'
            : `it cannot be read (${code})`;
    throw keyProblem(path, reason, SUGGESTION);
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(text);
  } catch {
    throw keyProblem(path, 'it is not a PEM private key', SUGGESTION);
  }
  if (key.asymmetricKeyType !== 'ed25519') throw keyProblem(path, 'it is not an Ed25519 key', SUGGESTION);
  return key;
}

/** Writes a new key with O_EXCL and mode 0600: never overwrites one. */
export function generateSigningKey(path: string): KeyObject {
  const { privateKey } = generateKeyPairSync('ed25519');
  const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  const fd = openSync(
    path,
    constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
    0o600,
  );
  try {
    writeSync(fd, pem);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return privateKey;
}

export function signerFor(key: KeyObject): ManifestSigner {
  return {
    publicKey: publicKeyId(createPublicKey(key)),
    sign: async (manifest) => signManifest(manifest, key),
    signRehearsal: async (record) => signRehearsal(record, key),
    signPitr: async (manifest) => signPitrManifest(manifest, key),
    signPitrTail: async (tail) => signPitrTail(tail, key),
    signPitrRehearsal: async (record) => signPitrRehearsal(record, key),
    signAudit: async (entry) => signAuditEntry(entry, key),
  };
}

/**
 * The signer for the current settings, loaded once per path (hot reload of signing_key takes effect). A key that
 * is missing where it was configured is an error; the default key is generated once and its public key logged.
 */
export function createSignerSource(logger: Logger): (settings: BackupTaskSettings) => ManifestSigner {
  let cached: { path: string; signer: ManifestSigner } | undefined;
  return (settings) => {
    const { path, generate } = settings.signingKey;
    if (cached?.path === path) return cached.signer;
    let key: KeyObject;
    try {
      key = loadSigningKey(path);
    } catch (error) {
      const missing = (error as AppError).message.includes('does not exist');
      if (!generate || !missing) throw error;
      key = createSigningKey(path);
      logger.info(`Generated the backup-signing key ${path} (0600); keep it outside the backup directory.`);
    }
    const signer = signerFor(key);
    logger.info(
      `Backups are signed with ${signer.publicKey}; another server restores them with trusted_keys = ["${signer.publicKey}"].`,
    );
    cached = { path, signer };
    return signer;
  };
}

/**
 * BOMNIPOTENT_SIGNING_KEY_PEM (on Lambda: the key from Secrets Manager, put into the environment at deploy time,
 * where no volume survives a cold start): checked, written to a private file under `dir` (0600, its folder 0700) and
 * BOMNIPOTENT_SIGNING_KEY pointed at it, so that the key is read like any other. Nothing happens without it.
 */
export function signingKeyFromEnvironment(env: NodeJS.ProcessEnv, dir: string): void {
  const pem = env.BOMNIPOTENT_SIGNING_KEY_PEM;
  if (!pem?.trim()) return;
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch {
    throw keyProblem('in BOMNIPOTENT_SIGNING_KEY_PEM', 'it is not a PEM private key', SUGGESTION);
  }
  if (key.asymmetricKeyType !== 'ed25519')
    throw keyProblem('in BOMNIPOTENT_SIGNING_KEY_PEM', 'it is not an Ed25519 key', SUGGESTION);
  const folder = join(dir, `bomnipotent-signing-key-${process.pid}`);
  mkdirSync(folder, { recursive: true, mode: 0o700 });
  const path = join(folder, 'backup-signing-key.pem');
  const fd = openSync(
    path,
    constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW,
    0o600,
  );
  try {
    writeSync(fd, key.export({ format: 'pem', type: 'pkcs8' }).toString());
  } finally {
    closeSync(fd);
  }
  env.BOMNIPOTENT_SIGNING_KEY = path;
}
