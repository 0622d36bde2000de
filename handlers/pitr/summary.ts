// The restorable window as `database-backup list` shows it: earliest and latest point, and the latest point's age
// (how much would be lost if the database were lost now).
import type { PitrCatalog } from './window';

export interface PitrSummary {
  earliest: string | null;
  latest: string | null;
  /** Seconds between the latest restorable point and now; null without a window. */
  latestAgeSeconds: number | null;
  baseBackups: number;
  segments: number;
  problem: string | null;
}

export function summarizePitr(catalog: PitrCatalog, now: Date): PitrSummary {
  const { window } = catalog;
  return {
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
