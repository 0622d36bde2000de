// The audit log's head anchored in the server's database: after each line is written, the anchor moves to it, unless
// the file no longer holds the anchored line (its newest lines were deleted): then the anchor stays, so that the
// deletion keeps showing in every reading of the chain (handlers/backup/audit-chain.ts anchorBreak) however many
// lines are written after it. A successful restore re-anchors at its own line: the restored database carries the
// anchor of its backup's time (or of another directory's log), and the file, which no restore touches, is the truth.
import { anchorBreak } from '../../handlers/backup/audit-chain';
import type { AuditRecord } from '../../handlers/backup/model';
import type { AuditAnchorStore } from '../../handlers/ports/audit-anchor';
import type { AuditWritten } from '../executor/audit-log';

/** The line of a restore that swapped a database in: from here on the restored database anchors the log. */
export function reanchors(record: AuditRecord): boolean {
  return record.action === 'restore' && record.outcome === 'succeeded';
}

/** The hook that moves the anchor after a line was written; it never fails the append (the line is on disk). */
export function anchorHook(
  anchors: AuditAnchorStore,
  readLog: () => Promise<string>,
  reanchor: boolean,
): AuditWritten {
  return async ({ seq, prev, digest }) => {
    try {
      const anchor = await anchors.read();
      const follows = anchor !== null && anchor.seq === seq - 1 && anchor.digest === prev;
      // Not right after the anchored line (an earlier move failed, another replica wrote, lines were deleted):
      // the anchor moves only while the file still holds the line it names.
      const move = reanchor || anchor === null || follows || anchorBreak(await readLog(), anchor) === null;
      if (move) await anchors.set({ seq, digest });
    } catch {
      // The database is unreachable or read-only (a restore's swap): the next line moves the anchor past this one.
    }
  };
}
