// The restorable window as `database-backup list` shows it: earliest and latest point, and the latest point's age
// (how much would be lost if the database were lost now).
import { formatBytes } from '../units';
import type { PitrCatalog } from './window';

export interface PitrSummary {
  earliest: string | null;
  latest: string | null;
  /** Seconds between the latest restorable point and now; null without a window. */
  latestAgeSeconds: number | null;
  baseBackups: number;
  segments: number;
  problem: string | null;
  /** The WAL the replication slot makes the database server keep, as last checked; null when not known. */
  heldWalBytes: number | null;
  /** max_held_wal: past it the slot is dropped. */
  maxHeldWalBytes: number | null;
}

/** The replication slot's held-back WAL as the running capture last read it, and its cap. */
export interface HeldWal {
  heldBytes: number;
  capBytes: number;
}

export function summarizePitr(catalog: PitrCatalog, now: Date, held: HeldWal | null = null): PitrSummary {
  const { window } = catalog;
  return {
    heldWalBytes: held?.heldBytes ?? null,
    maxHeldWalBytes: held?.capBytes ?? null,
    earliest: window?.earliest ?? null,
    latest: window?.latest ?? null,
    latestAgeSeconds: window
      ? Math.max(0, Math.round((now.getTime() - Date.parse(window.latest)) / 1000))
      : null,
    baseBackups: catalog.bases.length,
    segments: catalog.segments.length,
    problem: catalog.problem,
  };
}

const shown = (iso: string) => iso.replace('T', ' ').replace(/\.\d+Z$|Z$/, ' UTC');

function age(seconds: number): string {
  if (seconds < 120) return `${seconds} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  return `${Math.round(seconds / 3600)} h`;
}

/** The window as one line, for `database-backup list` (the client prints the server's summary with it). */
export function describePitrWindow(pitr: PitrSummary): string {
  const held =
    typeof pitr.heldWalBytes === 'number' && typeof pitr.maxHeldWalBytes === 'number'
      ? `; the replication slot holds back ${formatBytes(pitr.heldWalBytes, { small: 'B' })} of WAL on the database server (max_held_wal ${formatBytes(pitr.maxHeldWalBytes, { small: 'B' })})`
      : '';
  const parts = `${pitr.baseBackups} base backup(s), ${pitr.segments} WAL segment(s)${held}`;
  if (pitr.earliest === null || pitr.latest === null || pitr.latestAgeSeconds === null)
    return `Point-in-time recovery: no restorable window yet (${parts}).`;
  return (
    `Point-in-time recovery: restorable from ${shown(pitr.earliest)} to ${shown(pitr.latest)} ` +
    `(the latest point is ${age(pitr.latestAgeSeconds)} old; ${parts}).`
  );
}
