import type { Migration } from './types';

export const auditAnchor: Migration = {
  version: 6,
  name: 'audit-anchor',
  sql: `
    -- The newest line of the audit log (audit.log.jsonl) this server wrote: its number and the SHA-256 of the line.
    -- The file alone cannot show that its newest lines were deleted; against this record it can.
    CREATE TABLE audit_anchor (
      log text PRIMARY KEY,
      seq bigint NOT NULL,
      digest text NOT NULL,
      updated_at timestamptz NOT NULL DEFAULT now()
    );
  `,
};
