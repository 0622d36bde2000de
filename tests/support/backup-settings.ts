// The database_backup task's settings as the test worlds start from them: plain files, no retention, no key to load.
import type { BackupTaskSettings } from '../../handlers/backup/settings';

export function testBackupSettings(overrides: Partial<BackupTaskSettings> = {}): BackupTaskSettings {
  return {
    directory: '/backups',
    periodMs: 86_400_000,
    scheduled: true,
    keep: null,
    keepOldDatabase: false,
    verifyAfterBackup: true,
    executor: { kind: 'local' },
    signingKey: { path: '/config/backup-signing-key.pem', generate: true },
    trustedKeys: [],
    compression: 'none',
    encryptionRecipients: [],
    encryptionIdentityFile: undefined,
    ...overrides,
  };
}
