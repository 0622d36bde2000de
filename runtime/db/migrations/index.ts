// Every schema migration, in order. Append new ones; never edit or reorder a released one.
import type { Migration } from './types';
import { core } from './001-core';
import { accounts } from './002-accounts';
import { operations } from './003-operations';
import { backupChain } from './004-backup-chain';
import { notify } from './005-notify';
import { auditAnchor } from './006-audit-anchor';

export const MIGRATIONS: readonly Migration[] = [
  core,
  accounts,
  operations,
  backupChain,
  notify,
  auditAnchor,
];

export const LATEST_SCHEMA_VERSION = MIGRATIONS.reduce((max, m) => Math.max(max, m.version), 0);
