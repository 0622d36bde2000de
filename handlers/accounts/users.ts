// user request / approve / deny / list: the user-management use cases.
import { AppError } from '../errors';
import type { AccountDeps } from './deps';
import { normalizeUserName } from './names';
import type { Principal } from './principal';
import { keyFingerprint } from './fingerprint';
import type { StoredKey, UserKind, UserStatus, UserSummary } from './model';
import { ADMIN_ROLE } from './permissions';
import { normalizePublicKey } from './public-key';

export interface RequestUserInput {
  user: string;
  publicKey: string;
  robot: boolean;
}

export interface RequestUserResult {
  user: string;
  status: UserStatus;
  kind: UserKind;
  keyExpiresAt: string;
  /** What tmp_admin = "<email>:<fingerprint>" names to bind the bootstrap admin powers to this key. */
  keyFingerprint: string;
  /** No approved admin exists yet: the first one comes from tmp_admin (the client then shows the line to set). */
  bootstrap: boolean;
}

export async function requestUser(input: RequestUserInput, deps: AccountDeps): Promise<RequestUserResult> {
  const name = normalizeUserName(input.user);
  const settings = deps.settings();
  if (settings.tmpAdmin !== undefined && settings.tmpAdmin === name) {
    // Otherwise anyone could add a key of their own to the account that holds admin powers.
    throw new AppError(
      'USER.TMP_ADMIN_REQUEST',
      'conflict',
      `New requests for '${name}' are refused while it is the server's tmp_admin.`,
      {
        suggestion: 'Remove [user] tmp_admin from the server configuration first.',
      },
    );
  }
  const publicKeyPem = normalizePublicKey(input.publicKey);
  const now = deps.clock.now();
  const expiresAt = new Date(now.getTime() + settings.expirationPeriodMs);
  const kind: UserKind = input.robot ? 'robot' : 'human';
  const outcome = await deps.store.createUser({ name, kind, publicKeyPem, now, expiresAt });
  if (outcome === 'exists') {
    throw new AppError('USER.EXISTS', 'conflict', `The user '${name}' already exists.`, {
      suggestion: 'Choose another name, or ask a user manager about the existing account.',
    });
  }
  deps.logger.info(`Received a request for new ${kind} user '${name}'.`);
  return {
    user: name,
    status: 'REQUESTED',
    kind,
    keyExpiresAt: expiresAt.toISOString(),
    keyFingerprint: keyFingerprint(publicKeyPem),
    bootstrap: !(await deps.store.hasUsableAdmin()),
  };
}

export async function setUserStatus(
  input: { user: string; status: 'APPROVED' | 'DENIED' },
  principal: Principal,
  deps: AccountDeps,
): Promise<{ user: string; status: UserStatus }> {
  const name = normalizeUserName(input.user);
  const user = await deps.store.findUser(name);
  if (!user) throw unknownUser(name);
  if (!principal.isAdmin && (await deps.store.rolesOf(name)).includes(ADMIN_ROLE)) {
    // A user manager must not be able to lock out (or let back in) an administrator.
    throw new AppError(
      'USER.ADMIN_PROTECTED',
      'forbidden',
      `Only an admin may change the status of the admin '${name}'.`,
    );
  }
  if (user.status !== input.status) {
    const outcome = await deps.store.setStatus(name, input.status, deps.clock.now());
    if (outcome === 'last_admin') throw lastAdmin(name, 'deny');
  }
  deps.logger.info(`User '${principal.name}' set the status of '${name}' to ${input.status}.`);
  return { user: name, status: input.status };
}

export interface KeyListEntry {
  fingerprint: string;
  createdAt: string;
  expiresAt: string;
  revokedAt: string | null;
}

export interface UserListEntry {
  user: string;
  status: UserStatus;
  kind: UserKind;
  roles: string[];
  keyExpiresAt: string | null;
  createdAt: string;
  keys: KeyListEntry[];
}

export function describeKey(key: StoredKey): KeyListEntry {
  return {
    fingerprint: keyFingerprint(key.publicKeyPem),
    createdAt: key.createdAt.toISOString(),
    expiresAt: key.expiresAt.toISOString(),
    revokedAt: key.revokedAt ? key.revokedAt.toISOString() : null,
  };
}

export async function listUsers(deps: AccountDeps): Promise<UserListEntry[]> {
  const users = await deps.store.listUsers();
  return users.map((u: UserSummary) => ({
    user: u.name,
    status: u.status,
    kind: u.kind,
    roles: u.roles,
    keyExpiresAt: u.keyExpiresAt ? u.keyExpiresAt.toISOString() : null,
    createdAt: u.createdAt.toISOString(),
    keys: u.keys.map(describeKey),
  }));
}

/** The refusal when a change would leave no approved admin with a valid key: the owners would be locked out. */
export function lastAdmin(name: string, action: string): AppError {
  return new AppError(
    'USER.LAST_ADMIN',
    'conflict',
    `Refused to ${action} '${name}': no other approved admin with a valid key would remain.`,
    { suggestion: 'Give another approved user the admin role first (`user-role add <user> admin`).' },
  );
}

export function unknownUser(name: string): AppError {
  return new AppError('USER.UNKNOWN', 'not_found', `There is no user '${name}'.`, {
    suggestion: 'Check the name with `bomnipotent_client user list`.',
  });
}
