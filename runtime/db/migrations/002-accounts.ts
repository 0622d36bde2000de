// Users, their public keys, roles with permissions, user-role assignments, and the signatures seen (replay guard).
import type { Migration } from './types';

export const accounts: Migration = {
  version: 2,
  name: 'accounts',
  sql: `
    CREATE TABLE users (
      name text PRIMARY KEY CHECK (name = lower(name) AND length(name) BETWEEN 1 AND 254),
      status text NOT NULL CHECK (status IN ('REQUESTED', 'APPROVED', 'DENIED')),
      kind text NOT NULL CHECK (kind IN ('human', 'robot')),
      created_at timestamptz NOT NULL,
      updated_at timestamptz NOT NULL
    );
    CREATE TABLE user_keys (
      id bigserial PRIMARY KEY,
      user_name text NOT NULL REFERENCES users (name) ON DELETE CASCADE,
      public_key text NOT NULL,
      created_at timestamptz NOT NULL,
      expires_at timestamptz NOT NULL,
      revoked_at timestamptz,
      UNIQUE (user_name, public_key)
    );
    -- The built-in admin role lives in the code, not here, so that nobody can edit it away.
    CREATE TABLE roles (
      name text PRIMARY KEY CHECK (name <> 'admin'),
      description text NOT NULL DEFAULT ''
    );
    CREATE TABLE role_permissions (
      role text NOT NULL REFERENCES roles (name) ON DELETE CASCADE,
      permission text NOT NULL,
      PRIMARY KEY (role, permission)
    );
    -- No foreign key on role: 'admin' is assigned here but defined in the code.
    CREATE TABLE user_roles (
      user_name text NOT NULL REFERENCES users (name) ON DELETE CASCADE,
      role text NOT NULL,
      PRIMARY KEY (user_name, role)
    );
    CREATE TABLE seen_signatures (
      digest text PRIMARY KEY,
      expires_at timestamptz NOT NULL
    );
    CREATE INDEX seen_signatures_expires_at ON seen_signatures (expires_at);
    -- The default roles (handlers/accounts/permissions.ts), spelled out: a released migration never changes.
    INSERT INTO roles (name, description) VALUES
      ('bom_manager', 'Manages BOMs'),
      ('csaf_manager', 'Manages CSAF documents'),
      ('role_manager', 'Gives and takes roles (except admin)'),
      ('user_manager', 'Approves, denies and lists users'),
      ('vuln_manager', 'Manages vulnerabilities');
    INSERT INTO role_permissions (role, permission) VALUES
      ('bom_manager', 'BOM_MANAGEMENT'),
      ('csaf_manager', 'CSAF_MANAGEMENT'),
      ('role_manager', 'ROLE_MANAGEMENT'),
      ('user_manager', 'USER_MANAGEMENT'),
      ('vuln_manager', 'VULN_MANAGEMENT');
  `,
};
