// Retention of continuous protection (pitr_window = "7 days"): what may go once it is older than the window, and
// never what the oldest point still to be kept needs. That point is `cutoff` (now minus the window); restoring to it
// needs the newest base backup that ended at or before it and every segment from that base's start on. Everything
// before the first file so needed (by sequence) may go; removing only a prefix keeps the hash chain unbroken.
import type { PitrManifest } from './manifest';
import { segmentNumber, type PitrCatalog } from './window';

const startOf = (base: PitrManifest) => base.coversUntil ?? base.createdAt;

/** The manifests to remove, oldest first (by sequence); empty when nothing is older than what the cutoff needs. */
export function planPitrPrune(catalog: PitrCatalog, cutoff: string): PitrManifest[] {
  const keptBase = [...catalog.bases].reverse().find((b) => startOf(b) <= cutoff) ?? catalog.bases[0];
  if (!keptBase) return [];
  const from = segmentNumber(keptBase.segment);
  const needed = [
    ...catalog.bases.filter((b) => b.sequence >= keptBase.sequence),
    ...catalog.segments.filter((s) => {
      const n = segmentNumber(s.segment);
      return n.timeline > from.timeline || (n.timeline === from.timeline && n.number >= from.number);
    }),
  ];
  const first = Math.min(...needed.map((m) => m.sequence));
  return [...catalog.bases, ...catalog.segments]
    .filter((m) => m.sequence < first)
    .sort((a, b) => a.sequence - b.sequence);
}
