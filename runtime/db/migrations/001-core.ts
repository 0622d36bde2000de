import type { Migration } from './types';

export const core: Migration = {
  version: 1,
  name: 'core',
  sql: `
    CREATE TABLE server_info (
      key text PRIMARY KEY,
      value text NOT NULL
    );
    -- Periodic task runs, shared by all replicas: a replica skips a run that another one just did.
    CREATE TABLE task_runs (
      name text PRIMARY KEY,
      last_started_at timestamptz NOT NULL,
      last_finished_at timestamptz,
      last_outcome text NOT NULL DEFAULT 'running'
    );
  `,
};
