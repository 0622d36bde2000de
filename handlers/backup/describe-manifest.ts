// A signed manifest as the API describes a backup (the fields of format 1, plus compression, encryption, sequence).
import type { BackupManifest } from './manifest';
import type { BackupMetadata } from './model';

export function describeManifest(manifest: BackupManifest): BackupMetadata {
  return {
    format: manifest.format,
    file: manifest.file,
    sha256: manifest.sha256,
    sizeBytes: manifest.sizeBytes,
    database: manifest.database,
    serverVersion: manifest.serverVersion,
    pgDumpVersion: manifest.pgDumpVersion,
    schemaVersion: manifest.schemaVersion,
    appVersion: manifest.appVersion,
    startedAt: manifest.createdAt,
    durationMs: manifest.durationMs,
    trigger: manifest.trigger,
    user: manifest.user,
    compression: manifest.compression,
    encrypted: manifest.encryption !== null,
    sequence: manifest.sequence,
  };
}
