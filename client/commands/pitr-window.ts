// The restorable window of continuous protection, as `database-backup list` prints it.
import { formatSize } from '../progress-bar';

export interface PitrWindowView {
  earliest: string | null;
  latest: string | null;
  latestAgeSeconds: number | null;
  baseBackups: number;
  segments: number;
  problem: string | null;
  heldWalBytes?: number | null;
  maxHeldWalBytes?: number | null;
}

const shown = (iso: string) => iso.replace('T', ' ').replace(/\.\d+Z$|Z$/, ' UTC');

function age(seconds: number): string {
  if (seconds < 120) return `${seconds} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  return `${Math.round(seconds / 3600)} h`;
}

export function describePitrWindow(pitr: PitrWindowView): string {
  const held =
    typeof pitr.heldWalBytes === 'number' && typeof pitr.maxHeldWalBytes === 'number'
      ? `; the replication slot holds back ${formatSize(pitr.heldWalBytes)} of WAL on the database server (max_held_wal ${formatSize(pitr.maxHeldWalBytes)})`
      : '';
  const parts = `${pitr.baseBackups} base backup(s), ${pitr.segments} WAL segment(s)${held}`;
  if (pitr.earliest === null || pitr.latest === null || pitr.latestAgeSeconds === null)
    return `Point-in-time recovery: no restorable window yet (${parts}).`;
  return (
    `Point-in-time recovery: restorable from ${shown(pitr.earliest)} to ${shown(pitr.latest)} ` +
    `(the latest point is ${age(pitr.latestAgeSeconds)} old; ${parts}).`
  );
}
