import type { Migration } from './types';

export const backupChain: Migration = {
  version: 4,
  name: 'backup-chain',
  sql: `
    -- The newest backup sequence this server signed per database: when the newest backups vanish from the
    -- directory (deleted, or the directory rolled back), the gap shows against this record.
    CREATE TABLE backup_chain (
      database text PRIMARY KEY,
      newest_sequence bigint NOT NULL,
      updated_at timestamptz NOT NULL DEFAULT now()
    );
  `,
};
