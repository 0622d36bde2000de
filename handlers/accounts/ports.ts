// The accounts' storage port; runtime/db/accounts-store.ts implements it on PostgreSQL.

export type UserStatus = 'REQUESTED' | 'APPROVED' | 'DENIED';
export type UserKind = 'human' | 'robot';

export interface StoredUser {
  name: string;
  status: UserStatus;
  kind: UserKind;
  createdAt: Date;
  updatedAt: Date;
}

export interface StoredKey {
  id: number;
  publicKeyPem: string; // SPKI PEM
  createdAt: Date;
  expiresAt: Date;
  revokedAt: Date | null;
}

export interface UserSummary extends StoredUser {
  roles: string[];
  keyExpiresAt: Date | null; // the latest expiry among the user's unrevoked keys
}

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
  setStatus(name: string, status: UserStatus, now: Date): Promise<void>;
  listUsers(): Promise<UserSummary[]>;
  rolesOf(name: string): Promise<string[]>;
  /** Permissions held through the given stored roles (admin is not stored, so it contributes nothing here). */
  permissionsOf(roles: readonly string[]): Promise<string[]>;
  roleExists(role: string): Promise<boolean>;
  /** true when the assignment was added, false when it already existed. */
  addRole(name: string, role: string): Promise<boolean>;
  /** true when an assignment was removed, false when there was none. */
  removeRole(name: string, role: string): Promise<boolean>;
  /** Records a signature digest until expiresAt; false when it was already recorded (a replay), also across replicas. */
  rememberSignature(digest: string, expiresAt: Date): Promise<boolean>;
  forgetSignaturesBefore(now: Date): Promise<void>;
}
