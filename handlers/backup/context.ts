// Everything the backup handlers need, as ports; built once in runtime/deps.ts and shared by routes, scheduler and tests.
import type { BackupChainStore } from '../ports/backup-chain';
import type { BackupMetrics } from '../ports/metrics';
import type { Clock } from '../ports/clock';
import type { DatabaseAdmin } from '../ports/database-admin';
import type { DatabaseLifecycle } from '../ports/database-lifecycle';
import type { Executor } from '../ports/executor';
import type { Logger } from '../ports/logger';
import type { MaintenanceMode } from '../ports/maintenance';
import type { ManifestSigner } from '../ports/manifest-signer';
import type { RehearsalQueue } from '../ports/rehearsal-queue';
import type { OffsiteHooks } from '../offsite/context';
import type { BackupTaskSettings } from './settings';

export interface BackupContext {
  /** The database_backup task as currently configured (hot reload), or undefined when it is absent. */
  settings(): BackupTaskSettings | undefined;
  /** The executor for the current settings (in-process or sidecar). */
  executor(): Executor;
  /** The backup-signing key of the current settings; throws BACKUP.SIGNING_KEY_UNUSABLE when it cannot be read. */
  signer(): ManifestSigner;
  chain: BackupChainStore;
  admin: DatabaseAdmin;
  lifecycle: DatabaseLifecycle;
  maintenance: MaintenanceMode;
  metrics: BackupMetrics;
  clock: Clock;
  logger: Logger;
  appVersion: string;
  /** Background rehearsals of new backups (`rehearse = true`); absent: none run in the background. */
  rehearsals?: RehearsalQueue;
  /** Copies in S3-compatible storage (absent in tests that do not need them). */
  offsite?: OffsiteHooks;
}
