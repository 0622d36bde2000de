// The database_backup task of a test world: its settings and executor as the test holds them now, bound through the
// real store binding (runtime/backups/backup-store.ts) at each snapshot, as the server binds a settings generation.
import type { BackupTaskSettings } from '../../handlers/backup/settings';
import type { BackupTaskSource } from '../../handlers/ports/backup-store';
import type { ManifestSigner } from '../../handlers/ports/manifest-signer';
import { bindBackupStore, type PitrBinding } from '../../runtime/backups/backup-store';
import type { Executor } from '../../runtime/executor/executor';
import type { AuditAnchorStore } from '../../handlers/ports/audit-anchor';

export function testTaskSource(world: {
  settings: () => BackupTaskSettings | undefined;
  executor: () => Executor;
  signer: () => ManifestSigner;
  pitr?: () => PitrBinding | undefined;
  anchor?: AuditAnchorStore;
}): BackupTaskSource {
  return {
    snapshot: () => {
      const settings = world.settings();
      if (!settings) return undefined;
      return {
        settings,
        store: bindBackupStore({
          executor: world.executor(),
          settings,
          signer: world.signer,
          pitr: world.pitr?.(),
          anchor: world.anchor,
        }),
      };
    },
  };
}
