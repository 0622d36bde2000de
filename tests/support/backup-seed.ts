// The metadata seed a handler would pass to Executor.dump, for tests that call the executor directly.
import type { BackupMetadataSeed } from '../../handlers/backup/model';

export function backupSeed(
  database: string,
  overrides: Partial<BackupMetadataSeed> = {},
): BackupMetadataSeed {
  return {
    format: 'bomnipotent-backup/2',
    database,
    serverVersion: '15.20',
    schemaVersion: 1,
    appVersion: '0.1.0',
    startedAt: new Date().toISOString(),
    trigger: 'manual',
    user: 'admin@example.com',
    ...overrides,
  };
}
