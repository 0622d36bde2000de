// Audit records numbered n, one a minute from 2026-01-01, for the audit chain's tests.
import type { AuditRecord } from '../../handlers/backup/model';

export function auditRecord(n: number): AuditRecord {
  return {
    at: new Date(Date.UTC(2026, 0, 1, 0, n)).toISOString(),
    action: 'backup',
    outcome: 'succeeded',
    user: null,
    trigger: 'scheduled',
    file: `db_2026010100${String(n).padStart(2, '0')}00.dump`,
    message: `backup ${n}`,
  };
}
