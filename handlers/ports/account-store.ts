// The accounts' storage; runtime/db/accounts-store.ts implements it on PostgreSQL.
import type {
  GuardedChange,
  StoredKey,
  StoredUser,
  UserKind,
  UserStatus,
  UserSummary,
} from '../accounts/model';

export interface AccountStore {
  findUser(name: string): Promise<StoredUser | null>;
  keysOf(name: string): Promise<StoredKey[]>;
  /** Creates a REQUESTED user holding one key; 'exists' (and nothing written) when the name is taken. */
  createUser(request: {
    name: string;
    kind: UserKind;
    publicKeyPem: string;
    now: Date;
    expiresAt: Date;
  }): Promise<'created' | 'exists'>;
  /** Atomic with the last-admin check (no other approved admin with a valid key would remain: refused). */
  setStatus(name: string, status: UserStatus, now: Date): Promise<GuardedChange>;
  /** Revokes the given keys of name (ids from keysOf); atomic with the last-admin check. */
  revokeKeys(name: string, keyIds: readonly number[], now: Date): Promise<GuardedChange>;
  listUsers(): Promise<UserSummary[]>;
  /** Whether an approved user holds the admin role with a valid key (then the server needs no tmp_admin). */
  hasUsableAdmin(): Promise<boolean>;
  rolesOf(name: string): Promise<string[]>;
  /** Permissions held through the given stored roles (admin is not stored, so it contributes nothing here). */
  permissionsOf(roles: readonly string[]): Promise<string[]>;
  roleExists(role: string): Promise<boolean>;
  /** true when the assignment was added, false when it already existed. */
  addRole(name: string, role: string): Promise<boolean>;
  /** 'unchanged' when there was no such assignment; atomic with the last-admin check. */
  removeRole(name: string, role: string): Promise<GuardedChange>;
  /** Records a signature digest until expiresAt; false when it was already recorded (a replay), also across replicas. */
  rememberSignature(digest: string, expiresAt: Date): Promise<boolean>;
  forgetSignaturesBefore(now: Date): Promise<void>;
}
