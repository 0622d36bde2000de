// BackupChainStore on the backup_chain table: the newest sequence signed, which only ever grows.
import type { BackupChainStore } from '../../handlers/ports/backup-chain';
import type { DbHandle } from './handle';

export function createBackupChainStore(db: DbHandle): BackupChainStore {
  return {
    async newestSequence(database) {
      const { rows } = await db.query<{ n: string }>(
        'SELECT newest_sequence::text AS n FROM backup_chain WHERE database = $1',
        [database],
      );
      return rows[0] ? Number(rows[0].n) : 0;
    },
    async record(database, sequence) {
      await db.query(
        `INSERT INTO backup_chain (database, newest_sequence) VALUES ($1, $2)
         ON CONFLICT (database) DO UPDATE
           SET newest_sequence = GREATEST(backup_chain.newest_sequence, EXCLUDED.newest_sequence), updated_at = now()`,
        [database, sequence],
      );
    },
  };
}
