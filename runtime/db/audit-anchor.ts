// AuditAnchorStore on the audit_anchor table: one row for the audit log of the backup directory.
import type { AuditAnchorStore } from '../../handlers/ports/audit-anchor';
import type { DbHandle } from './handle';

const LOG = 'audit.log.jsonl';

export function createAuditAnchorStore(db: DbHandle): AuditAnchorStore {
  return {
    async read() {
      const { rows } = await db.query<{ seq: string; digest: string }>(
        'SELECT seq::text AS seq, digest FROM audit_anchor WHERE log = $1',
        [LOG],
      );
      return rows[0] ? { seq: Number(rows[0].seq), digest: rows[0].digest } : null;
    },
    async set({ seq, digest }) {
      await db.query(
        `INSERT INTO audit_anchor (log, seq, digest) VALUES ($1, $2, $3)
         ON CONFLICT (log) DO UPDATE SET seq = EXCLUDED.seq, digest = EXCLUDED.digest, updated_at = now()`,
        [LOG, seq, digest],
      );
    },
  };
}
