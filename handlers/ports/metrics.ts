// What the use cases report as it happens: backups, restores, rehearsals and long operations (runtime/observability/metrics.ts counts them).
import type { BackupMetadata, BackupTrigger } from '../backup/model';
import type { OperationKind } from '../operations/model';

export interface BackupMetrics {
  backupSucceeded(metadata: BackupMetadata): void;
  backupFailed(trigger: BackupTrigger): void;
  restoreSucceeded(): void;
  restoreFailed(): void;
  rehearsalSucceeded?(at: Date): void;
  rehearsalFailed?(): void;
  /** A rehearsed restore to a point (continuous protection) passed / failed. */
  pitrRehearsalSucceeded?(at: Date): void;
  pitrRehearsalFailed?(): void;
}

export interface OperationMetrics {
  operationFinished(kind: OperationKind, outcome: 'succeeded' | 'failed', seconds: number): void;
}
