import type { Migration } from './types';

export const core: Migration = {
  version: 1,
  name: 'core',
  sql: `
    CREATE TABLE server_info (
      key text PRIMARY KEY,
      value text NOT NULL
    );
  `,
};
