// The database_backup task as the use cases get it: one snapshot of the settings per operation, with the store bound
// once per settings generation (a hot reload makes a new one; an operation keeps the one it started with).
import type { BackupTaskSettings, ExecutorSettings } from '../../handlers/backup/settings';
import type { BackupTask, BackupTaskSource } from '../../handlers/ports/backup-store';
import type { ManifestSigner } from '../../handlers/ports/manifest-signer';
import type { Logger } from '../../handlers/ports/logger';
import type { AuditAnchorStore } from '../../handlers/ports/audit-anchor';
import type { Executor } from '../executor/executor';
import { createLocalExecutor } from '../executor/local';
import { createSidecarExecutor } from '../sidecar/client';
import { bindBackupStore, type PitrBinding } from './backup-store';

export interface TaskSourceOptions {
  /** The task's settings as configured now (the config is replaced, never changed, on a reload). */
  settings: () => BackupTaskSettings | undefined;
  executorFor: (settings: ExecutorSettings) => Executor;
  signerFor: (settings: BackupTaskSettings) => ManifestSigner;
  /** For point-in-time recovery (continuous = true). */
  pitr?: PitrBinding;
  /** Where the audit log's newest line is anchored (the server's database). */
  anchor?: AuditAnchorStore;
}

export function createBackupTaskSource(options: TaskSourceOptions): BackupTaskSource {
  let bound: BackupTask | undefined;
  return {
    snapshot() {
      const settings = options.settings();
      if (!settings) return undefined;
      if (bound?.settings !== settings) {
        const store = bindBackupStore({
          executor: options.executorFor(settings.executor),
          settings,
          signer: () => options.signerFor(settings),
          pitr: options.pitr,
          anchor: options.anchor,
        });
        bound = { settings, store };
      }
      return bound;
    },
  };
}

/** One executor per distinct setting, so a hot reload that switches to a sidecar takes effect. */
export function executorsFor(dbUrl: string, logger: Logger): (settings: ExecutorSettings) => Executor {
  let cached: { key: string; executor: Executor } | undefined;
  return (settings) => {
    const key = settings.kind === 'local' ? 'local' : `sidecar ${settings.url} ${settings.token}`;
    if (cached?.key !== key) {
      const executor =
        settings.kind === 'local'
          ? createLocalExecutor({ dbUrl, logger })
          : createSidecarExecutor({ url: settings.url, token: settings.token });
      cached = { key, executor };
    }
    return cached.executor;
  };
}
