// Establishes who signed a request: headers, time window, the user's valid keys, status, replay; or 401 saying why.
import { createHash, createPublicKey, generateKeyPairSync, verify } from 'node:crypto';
import { AppError } from '../errors';
import {
  bodyDigest,
  canonicalString,
  HEADER_DOMAIN,
  HEADER_NONCE,
  HEADER_SIGNATURE,
  HEADER_TIMESTAMP,
  HEADER_USER,
  NONCE_FORM,
  originOf,
  parseTimestamp,
} from './canonical';
import type { AccountDeps, AccountSettings } from './deps';
import { keyFingerprint } from './fingerprint';
import { normalizeUserName } from './names';
import { ADMIN_ROLE, PERMISSIONS } from './permissions';
import type { Principal } from './principal';
import type { StoredKey, StoredUser } from './model';

export interface SignedRequest {
  method: string;
  pathAndQuery: string;
  user: string | undefined;
  timestamp: string | undefined;
  signature: string | undefined;
  domain: string | undefined;
  nonce: string | undefined;
  /** host[:port] the request was addressed to (its Host header), for servers without `domain`. */
  host: string;
  body: Uint8Array;
}

function refuse(code: string, message: string, suggestion?: string): AppError {
  return new AppError(code, 'unauthenticated', message, suggestion === undefined ? {} : { suggestion });
}

/**
 * A valid Ed25519 public key whose secret was thrown away when the module loaded: an unknown user's signature is
 * checked against it, so that the answer takes as long as a wrong key's. It never matches (and is never accepted).
 */
const DECOY_KEY: StoredKey = {
  id: 0,
  publicKeyPem: generateKeyPairSync('ed25519').publicKey.export({ format: 'pem', type: 'spki' }).toString(),
  createdAt: new Date(0),
  expiresAt: new Date(0),
  revokedAt: null,
};

function verifies(key: StoredKey, data: Buffer, signature: Buffer): boolean {
  try {
    return verify(null, data, createPublicKey(key.publicKeyPem), signature);
  } catch {
    return false;
  }
}

/** The signed origin must be this server's: a request captured on one server cannot be replayed to another. */
function checkDomain(domain: string, host: string, settings: AccountSettings): void {
  const origin = originOf(domain);
  if (origin === null || origin !== domain) {
    throw refuse(
      'AUTH.DOMAIN_INVALID',
      `The ${HEADER_DOMAIN} header must be an origin like https://bom.example.`,
    );
  }
  const mine = settings.origin ?? undefined;
  const matches = mine !== undefined ? origin === mine : new URL(origin).host === host.toLowerCase();
  if (!matches) {
    throw refuse(
      'AUTH.DOMAIN_MISMATCH',
      `The request was signed for ${origin}, not for this server (${mine ?? host}).`,
      "Sign for the server you send to: check --domain (and the server's `domain` setting).",
    );
  }
}

/** tmp_admin: the named user, not denied, signing with the named key; a name without a key gives nothing. */
function holdsTmpAdmin(name: string, signedWith: StoredKey, settings: AccountSettings): boolean {
  if (settings.tmpAdmin === undefined || settings.tmpAdmin !== name) return false;
  return (
    settings.tmpAdminKey !== undefined && keyFingerprint(signedWith.publicKeyPem) === settings.tmpAdminKey
  );
}

/** The signature headers, all present and of the current scheme; undefined when there are none at all. */
function signatureHeaders(request: SignedRequest): Record<HeaderField, string> | undefined {
  const { user, timestamp, signature, domain, nonce } = request;
  if (user === undefined && timestamp === undefined && signature === undefined) return undefined;
  if (!user || !timestamp || !signature) {
    throw refuse(
      'AUTH.SIGNATURE_INCOMPLETE',
      `A signed request needs the headers ${HEADER_USER}, ${HEADER_TIMESTAMP}, ${HEADER_SIGNATURE}, ${HEADER_DOMAIN} and ${HEADER_NONCE}.`,
    );
  }
  if (domain === undefined || nonce === undefined) {
    throw refuse(
      'AUTH.SIGNATURE_VERSION',
      `The request is signed with an older scheme (without ${HEADER_DOMAIN} and ${HEADER_NONCE}).`,
      'Update bomnipotent_client to the version of the server.',
    );
  }
  if (!NONCE_FORM.test(nonce))
    throw refuse('AUTH.NONCE_INVALID', `The ${HEADER_NONCE} header must be 16 to 64 base64url characters.`);
  return { user, timestamp, signature, domain, nonce };
}

type HeaderField = 'user' | 'timestamp' | 'signature' | 'domain' | 'nonce';

/** The signed time in epoch ms, within the signature window around now. */
function signedAt(timestamp: string, now: number, window: number): number {
  const at = parseTimestamp(timestamp);
  if (at === null)
    throw refuse(
      'AUTH.TIMESTAMP_INVALID',
      `The timestamp '${timestamp.slice(0, 40)}' is neither RFC 3339 nor epoch milliseconds.`,
    );
  const clockHint = "Check the clock of the client's machine (and the server's).";
  if (at < now - window)
    throw refuse(
      'AUTH.TIMESTAMP_EXPIRED',
      `The request's timestamp is more than ${window / 1000} s in the past.`,
      clockHint,
    );
  if (at > now + window)
    throw refuse(
      'AUTH.TIMESTAMP_FUTURE',
      `The request's timestamp is more than ${window / 1000} s in the future.`,
      clockHint,
    );
  return at;
}

/**
 * The user's valid key that signed the request, or a 401. An unknown user is answered exactly like a wrong key,
 * after the same work (the keys looked up, a signature checked against a decoy key): this door tells nobody which
 * users exist.
 */
function validSigningKey(
  name: string,
  stored: StoredUser | null,
  keys: readonly StoredKey[],
  signed: { data: Buffer; signature: Buffer; now: number },
): { stored: StoredUser; valid: StoredKey } {
  const candidates = stored && keys.length > 0 ? keys : [DECOY_KEY];
  const matching = candidates.filter(
    (key) => verifies(key, signed.data, signed.signature) && key !== DECOY_KEY,
  );
  const valid = matching.find((key) => key.revokedAt === null && key.expiresAt.getTime() > signed.now);
  if (stored && valid) return { stored, valid };
  if (matching.some((key) => key.revokedAt !== null))
    throw refuse('AUTH.KEY_REVOKED', `The key that signed this request for '${name}' has been revoked.`);
  if (matching.length > 0)
    throw refuse(
      'AUTH.KEY_EXPIRED',
      `The key that signed this request for '${name}' has expired.`,
      'Ask a user manager for a new key.',
    );
  throw refuse(
    'AUTH.SIGNATURE_INVALID',
    `The signature does not match this request and any valid key of '${name}'.`,
    'Check --user and --secret-key (an account is requested with `bomnipotent_client user request <email>`); ' +
      'a proxy that rewrites the path, query or body also breaks the signature.',
  );
}

/** undefined when the request carries no signature headers at all (route guards then decide); a Principal or a 401. */
export async function authenticateRequest(
  request: SignedRequest,
  deps: AccountDeps,
): Promise<Principal | undefined> {
  const headers = signatureHeaders(request);
  if (!headers) return undefined;
  const { user, timestamp, signature, domain, nonce } = headers;
  const settings = deps.settings();
  checkDomain(domain, request.host, settings);
  const now = deps.clock.now().getTime();
  const window = settings.signatureWindowMs;
  const at = signedAt(timestamp, now, window);

  const name = normalizeUserName(user);
  const found = await deps.store.findUser(name);
  const keys = await deps.store.keysOf(name);
  const data = Buffer.from(
    canonicalString({
      method: request.method,
      origin: domain,
      nonce,
      pathAndQuery: request.pathAndQuery,
      user,
      timestamp,
      bodySha256: bodyDigest(request.body),
    }),
  );
  const signatureBytes = Buffer.from(signature, 'base64');
  const { stored, valid } = validSigningKey(name, found, keys, {
    data,
    signature: signatureBytes,
    now,
  });

  // A denied user never acts, not even as tmp_admin.
  if (stored.status === 'DENIED')
    throw refuse('AUTH.USER_DENIED', `The request of user '${name}' was denied.`);
  const isTmpAdmin = holdsTmpAdmin(name, valid, settings);
  if (!isTmpAdmin && stored.status === 'REQUESTED') {
    throw refuse(
      'AUTH.USER_NOT_APPROVED',
      `The user '${name}' has not been approved yet.`,
      'Ask a user manager to approve the request.',
    );
  }

  // Last, so that forged or refused requests never fill the table; the insert is atomic across replicas.
  const digest = createHash('sha256').update(signatureBytes).digest('hex');
  if (!(await deps.store.rememberSignature(digest, new Date(at + window)))) {
    throw refuse(
      'AUTH.REPLAYED',
      'This signature has been used before: the request is a replay.',
      'Sign every request anew.',
    );
  }

  const roles = await deps.store.rolesOf(name);
  const isAdmin = isTmpAdmin || roles.includes(ADMIN_ROLE);
  if (isTmpAdmin) {
    deps.logger.warn(
      `User '${name}' acts with admin powers as [user] tmp_admin (status ${stored.status}). ` +
        'Approve them, give them the admin role, then remove tmp_admin from the configuration.',
    );
  }
  const permissions = isAdmin ? [...PERMISSIONS] : await deps.store.permissionsOf(roles);
  return { name, roles, permissions: new Set(permissions), isAdmin };
}
