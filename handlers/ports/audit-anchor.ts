// The newest audit line this server wrote, kept in its database: what the audit log's head is checked against.

export interface AuditAnchor {
  seq: number;
  /** The SHA-256 of the line as written (auditLineDigest). */
  digest: string;
}

export interface AuditAnchorStore {
  /** null when no line was anchored yet. */
  read(): Promise<AuditAnchor | null>;
  set(anchor: AuditAnchor): Promise<void>;
}
