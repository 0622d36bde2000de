// user revoke-key: withdraw one key (by fingerprint) or every key of a user; never the last admin's last key.
import { AppError } from '../errors';
import type { AccountDeps } from './deps';
import { keyFingerprint } from './fingerprint';
import { normalizeUserName } from './names';
import { ADMIN_ROLE } from './permissions';
import type { Principal } from './principal';
import { lastAdmin, unknownUser } from './users';

export interface RevokeKeyInput {
  user: string;
  /** undefined: every key of the user that is not revoked yet. */
  fingerprint: string | undefined;
}

export interface RevokeKeyResult {
  user: string;
  revoked: string[]; // fingerprints
}

export async function revokeKey(
  input: RevokeKeyInput,
  principal: Principal,
  deps: AccountDeps,
): Promise<RevokeKeyResult> {
  const name = normalizeUserName(input.user);
  if (!(await deps.store.findUser(name))) throw unknownUser(name);
  if (!principal.isAdmin && (await deps.store.rolesOf(name)).includes(ADMIN_ROLE)) {
    throw new AppError(
      'USER.ADMIN_PROTECTED',
      'forbidden',
      `Only an admin may revoke the keys of the admin '${name}'.`,
    );
  }
  const live = (await deps.store.keysOf(name))
    .filter((key) => key.revokedAt === null)
    .map((key) => ({ key, fingerprint: keyFingerprint(key.publicKeyPem) }));
  const chosen =
    input.fingerprint === undefined ? live : live.filter((k) => k.fingerprint === input.fingerprint);
  if (chosen.length === 0) {
    throw new AppError(
      'KEY.UNKNOWN',
      'not_found',
      input.fingerprint === undefined
        ? `The user '${name}' holds no key that is not revoked already.`
        : `The user '${name}' holds no unrevoked key ${input.fingerprint}.`,
      { suggestion: 'See the keys and their fingerprints with `bomnipotent_client user list`.' },
    );
  }
  const outcome = await deps.store.revokeKeys(
    name,
    chosen.map((k) => k.key.id),
    deps.clock.now(),
  );
  if (outcome === 'last_admin') throw lastAdmin(name, 'revoke the last key of');
  const revoked = chosen.map((k) => k.fingerprint);
  deps.logger.info(
    `User '${principal.name}' revoked ${revoked.length} key(s) of '${name}': ${revoked.join(', ')}.`,
  );
  return { user: name, revoked };
}
