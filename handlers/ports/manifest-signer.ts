// The backup-signing key as a port: it signs manifests and rehearsal records and never leaves the server process.
import type { AuditLink, AuditSignature } from '../backup/audit-chain';
import type { BackupManifest } from '../backup/manifest';
import type { AuditRecord } from '../backup/model';
import type { RehearsalRecord } from '../backup/rehearsal-record';
import type { PitrManifest } from '../pitr/manifest';
import type { PitrRehearsalRecord } from '../pitr/rehearsal-record';
import type { PitrTail } from '../pitr/tail-manifest';

/** Signs manifests with the backup-signing key; the key itself never leaves the server process. */
export interface ManifestSigner {
  readonly publicKey: string; // ed25519:<base64>
  /** The complete manifest file (JSON text) for this manifest (async: over the sidecar it is a round trip). */
  sign(manifest: BackupManifest): Promise<string>;
  /** The complete rehearsal record file (JSON text); absent where only manifests are signed (the sidecar). */
  signRehearsal?(record: RehearsalRecord): Promise<string>;
  /** The complete PITR manifest file (continuous protection); absent where only dump manifests are signed. */
  signPitr?(manifest: PitrManifest): Promise<string>;
  /** The complete signed tail file (continuous protection's tail, under a context of its own). */
  signPitrTail?(tail: PitrTail): Promise<string>;
  /** The complete PITR rehearsal record file; absent where only dump manifests are signed. */
  signPitrRehearsal?(record: PitrRehearsalRecord): Promise<string>;
  /** The signature of one audit log line (handlers/backup/audit-chain.ts); absent where only manifests are signed. */
  signAudit?(entry: AuditRecord & AuditLink): Promise<AuditSignature>;
}
