// Long operations (backup, restore) and their progress, so that any replica can answer a client following one.
import type { Migration } from './types';

export const operations: Migration = {
  version: 3,
  name: 'operations',
  sql: `
    CREATE TABLE operations (
      id text PRIMARY KEY,
      kind text NOT NULL,
      params jsonb NOT NULL,
      user_name text,
      idempotency_key text,
      state text NOT NULL CHECK (state IN ('running', 'succeeded', 'failed')),
      phase text NOT NULL,
      bytes_done bigint,
      bytes_total bigint,
      started_at timestamptz NOT NULL,
      updated_at timestamptz NOT NULL,
      finished_at timestamptz,
      owner text NOT NULL,
      -- The answer exactly as a plain request would have got it (status and JSON text).
      outcome_status integer,
      outcome_body text
    );
    CREATE UNIQUE INDEX operations_idempotency ON operations (coalesce(user_name, ''), idempotency_key)
      WHERE idempotency_key IS NOT NULL;
    CREATE INDEX operations_running ON operations (kind) WHERE state = 'running';
    CREATE INDEX operations_started_at ON operations (started_at DESC);
  `,
};
