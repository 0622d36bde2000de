// The accounts' data: users, their keys and roles.

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
  keys: StoredKey[];
}

/** 'last_admin': refused and nothing changed, because no approved admin with a valid key would remain. */
export type GuardedChange = 'changed' | 'unchanged' | 'last_admin';
