// The restorable window of continuous protection, and what a restore to a point needs, from the manifests alone:
// the chain (sequence and previous digest) must hold, every data file must be there at its signed size, and the
// WAL segments must follow one another without a gap. Pure: the runtime reads the folder, this decides.
import { AppError } from '../errors';
import { pitrDigest, type PitrManifest } from './manifest';
import type { PitrTail } from './tail-manifest';

/** One manifest file of the PITR folder as the runtime found it. */
export interface PitrEntry {
  manifestFile: string; // relative to the PITR folder
  /** Set when the signature verifies under the trust policy. */
  manifest: PitrManifest | null;
  /** Why the manifest is not trusted (null when it is). */
  reason: string | null;
  /** The size of the data file on disk; null when it is missing. */
  dataSizeBytes: number | null;
}

/** The newest tail file of the PITR folder (tail-manifest.ts) as the runtime found it. */
export interface PitrTailEntry {
  manifestFile: string;
  /** Set when the signature verifies under the trust policy. */
  tail: PitrTail | null;
  reason: string | null;
  dataSizeBytes: number | null;
  /** The data file's SHA-256 (a tail is small and replaced often: it is hashed on every read, unlike sealed files). */
  dataSha256: string | null;
}

export interface PitrWindow {
  earliest: string; // ISO 8601: the end of the oldest usable base backup
  latest: string; // ISO 8601: every commit acknowledged before it is covered
}

export interface PitrCatalog {
  window: PitrWindow | null;
  bases: PitrManifest[]; // in the unbroken chain, oldest first (a base is usable once WAL covers a point after it)
  segments: PitrManifest[]; // in the unbroken chain, by name
  /** The first thing that cuts the window short (a forged, missing or out-of-order file, a gap), in one sentence. */
  problem: string | null;
  /** The signed tail that extends the window past the sealed segments (verified and bound to the chain's head). */
  tail: PitrTail | null;
  /** The window's latest point by the sealed segments alone (the tail left out). */
  sealedLatest: string | null;
  /** Why the tail in the folder was not used (forged, altered, bound elsewhere); null when used or superseded. */
  tailProblem: string | null;
}

const SEGMENTS_PER_LOG = 0x100; // 16 MB segments (checked at capture start)

export function segmentNumber(name: string): { timeline: number; number: number } {
  const timeline = parseInt(name.slice(0, 8), 16);
  const log = parseInt(name.slice(8, 16), 16);
  const seg = parseInt(name.slice(16, 24), 16);
  return { timeline, number: log * SEGMENTS_PER_LOG + seg };
}

export function segmentName(timeline: number, number: number): string {
  const hex = (n: number) => n.toString(16).toUpperCase().padStart(8, '0');
  return hex(timeline) + hex(Math.floor(number / SEGMENTS_PER_LOG)) + hex(number % SEGMENTS_PER_LOG);
}

/** The manifests that form one unbroken, complete chain, oldest first, and the first problem found. */
function trustedPrefix(entries: readonly PitrEntry[]): { chain: PitrManifest[]; problem: string | null } {
  const untrusted = entries.find((e) => e.manifest === null);
  let problem = untrusted
    ? `${untrusted.manifestFile} is not trusted: ${untrusted.reason ?? 'unknown'}`
    : null;
  const trusted = entries
    .filter((e): e is PitrEntry & { manifest: PitrManifest } => e.manifest !== null)
    .sort((a, b) => a.manifest.sequence - b.manifest.sequence);
  const chain: PitrManifest[] = [];
  for (const entry of trusted) {
    const m = entry.manifest;
    const previous = chain.at(-1);
    if (
      previous &&
      (m.sequence !== previous.sequence + 1 || m.previousManifestSha256 !== pitrDigest(previous))
    ) {
      problem ??= `the chain breaks after ${previous.file} (sequence ${previous.sequence}): ${m.file} does not follow it (a file is missing, forged or reordered)`;
      break;
    }
    if (entry.dataSizeBytes !== m.sizeBytes) {
      problem ??=
        entry.dataSizeBytes === null
          ? `${m.file} is missing`
          : `${m.file} has ${entry.dataSizeBytes} bytes, its manifest signed ${m.sizeBytes} (truncated or altered)`;
      break;
    }
    chain.push(m);
  }
  return { chain, problem };
}

/** The segments that follow `from` without a gap (same timeline, consecutive numbers). */
function runFrom(segments: readonly PitrManifest[], from: string): PitrManifest[] {
  const start = segmentNumber(from);
  const run: PitrManifest[] = [];
  for (const s of segments) {
    const n = segmentNumber(s.segment);
    if (n.timeline !== start.timeline || n.number < start.number) continue;
    if (n.number !== start.number + run.length) break;
    run.push(s);
  }
  return run;
}

/** Where a base backup's window starts: the moment it ended (the earliest consistent point). */
const startOf = (base: PitrManifest) => base.coversUntil ?? base.createdAt;

/**
 * How far a base backup reaches with the segments that follow its end without a gap: the latest instant a sealed
 * segment covers (null: no segment covers an instant after the base yet, so it restores nothing on its own).
 */
function reachOf(
  base: PitrManifest,
  segments: readonly PitrManifest[],
): { until: string | null; run: PitrManifest[] } {
  // The base carries its WAL up to its end segment; the stream must continue from there (or from the next one).
  const end = base.endSegment ?? base.segment;
  let run = runFrom(segments, end);
  if (run.length === 0) {
    const next = segmentNumber(end);
    run = runFrom(segments, segmentName(next.timeline, next.number + 1));
  }
  let until: string | null = null;
  for (const s of run) {
    if (s.coversUntil !== null && s.coversUntil >= startOf(base) && (until === null || s.coversUntil > until))
      until = s.coversUntil;
  }
  return { until, run };
}

/** The gap that ends a run while later segments of its timeline were sealed: the WAL in between is missing. */
function gapAfter(run: readonly PitrManifest[], segments: readonly PitrManifest[]): string | null {
  const last = run.at(-1);
  if (!last) return null;
  const end = segmentNumber(last.segment);
  const later = segments.some((s) => {
    const n = segmentNumber(s.segment);
    return n.timeline === end.timeline && n.number > end.number + 1;
  });
  return later
    ? `the WAL has a gap: ${segmentName(end.timeline, end.number + 1)} is missing after ${last.file} (a sealed segment was removed, or the replication slot was lost); the window ends before it until the next base backup`
    : null;
}

/**
 * Whether the tail continues the window: signed by a trusted key, its file at its signed size, naming the digest of
 * the chain's head, which must be the last segment of the run the window ends with, and holding the segment right
 * after it. A tail that names an older link of the chain was superseded (its segment sealed since): ignored, no
 * problem. Anything else is a problem, and the window ends at the sealed point.
 */
function bindTail(
  entry: PitrTailEntry | null,
  chain: readonly PitrManifest[],
  run: readonly PitrManifest[],
  latest: string,
): { tail: PitrTail | null; tailProblem: string | null } {
  const none = { tail: null, tailProblem: null };
  if (!entry) return none;
  const refuse = (why: string) => ({
    tail: null,
    tailProblem: `the tail ${entry.manifestFile} is not used: ${why}`,
  });
  const { tail } = entry;
  if (!tail) return refuse(`it is not trusted: ${entry.reason ?? 'unknown'}`);
  if (entry.dataSizeBytes !== tail.sizeBytes)
    return refuse(
      entry.dataSizeBytes === null
        ? `${tail.file} is missing`
        : `${tail.file} has ${entry.dataSizeBytes} bytes, its manifest signed ${tail.sizeBytes} (truncated or altered)`,
    );
  if (entry.dataSha256 !== tail.sha256)
    return refuse(`the SHA-256 of ${tail.file} differs (forged or altered)`);
  const head = chain.at(-1);
  const named = chain.find((m) => pitrDigest(m) === tail.previousManifestSha256);
  if (!head || !named)
    return refuse('it names a chain head that is not in the chain (forged or of another chain)');
  if (named !== head) return none; // its segment was sealed (or a new window began) since: superseded
  // The window ends before the head (a gap, named by the catalog's problem): the tail cannot extend it; not a forgery.
  if (run.at(-1) !== head) return none;
  const next = segmentNumber(tail.segment);
  const after = segmentNumber(head.segment);
  if (next.timeline !== after.timeline || next.number !== after.number + 1)
    return refuse(`it does not continue the segment the window ends with (${head.segment})`);
  if (tail.systemIdentifier !== head.systemIdentifier) return refuse('it is WAL of another cluster');
  return tail.coversUntil > latest ? { tail, tailProblem: null } : none;
}

export function assessPitr(
  entries: readonly PitrEntry[],
  tailEntry: PitrTailEntry | null = null,
): PitrCatalog {
  const { chain, problem } = trustedPrefix(entries);
  const segments = chain
    .filter((m) => m.kind === 'wal')
    .sort((a, b) => (a.segment < b.segment ? -1 : a.segment > b.segment ? 1 : 0));
  const bases = chain.filter((m) => m.kind === 'base');
  const usable = bases.filter((m) => reachOf(m, segments).until !== null);
  const newest = usable.at(-1);
  if (!newest) {
    const tailProblem = tailEntry && !tailEntry.tail ? bindTail(tailEntry, [], [], '').tailProblem : null;
    return { window: null, bases, segments, problem, tail: null, sealedLatest: null, tailProblem };
  }
  const reach = reachOf(newest, segments);
  const { tail, tailProblem } = bindTail(tailEntry, chain, reach.run, reach.until!);
  const latest = tail?.coversUntil ?? reach.until!;
  // The window reaches back to the oldest base whose WAL runs on into the newest one's.
  let earliest = startOf(newest);
  for (const base of usable)
    if (reachOf(base, segments).until! >= startOf(newest) && startOf(base) < earliest)
      earliest = startOf(base);
  return {
    window: { earliest, latest },
    bases,
    segments,
    problem: problem ?? gapAfter(reach.run, segments) ?? tailProblem,
    tail,
    sealedLatest: reach.until!,
    tailProblem,
  };
}

/** The catalog as the sealed segments alone make it (a PITR rehearsal rehearses what stays: see rehearse-point.ts). */
export function withoutTail(catalog: PitrCatalog): PitrCatalog {
  if (!catalog.tail || !catalog.window || catalog.sealedLatest === null) return catalog;
  return { ...catalog, tail: null, window: { ...catalog.window, latest: catalog.sealedLatest } };
}

export interface PitrPlan {
  base: PitrManifest;
  /** The segments recovery replays after the base, in order, up to the first that covers the target. */
  segments: PitrManifest[];
  /** For a target past the sealed segments: the signed tail, replayed after them as the last segment. */
  tail?: PitrTail | undefined;
}

/** A target past the sealed segments that the tail covers: the base the window ends with, its whole run, the tail. */
function planWithTail(catalog: PitrCatalog, target: string): PitrPlan | null {
  const { tail } = catalog;
  if (!tail || target > tail.coversUntil) return null;
  const base = [...catalog.bases]
    .reverse()
    .find(
      (b) =>
        startOf(b) <= target && reachOf(b, catalog.segments).run.at(-1)?.segment === precedingSegment(tail),
    );
  return base ? { base, segments: reachOf(base, catalog.segments).run, tail } : null;
}

function precedingSegment(tail: PitrTail): string {
  const n = segmentNumber(tail.segment);
  return segmentName(n.timeline, n.number - 1);
}

/** What a restore to `target` (ISO 8601) replays, or why it cannot: a sentence naming the window. */
export function planRecovery(catalog: PitrCatalog, target: string): PitrPlan | { refused: string } {
  const { window } = catalog;
  if (!window)
    return {
      refused: 'There is no restorable window yet: continuous protection has not finished a base backup.',
    };
  if (target < window.earliest || target > window.latest)
    return {
      refused: `The target ${target} is outside the restorable window ${window.earliest} to ${window.latest}.`,
    };
  const base = [...catalog.bases]
    .reverse()
    .find((b) => startOf(b) <= target && (reachOf(b, catalog.segments).until ?? '') >= target);
  if (!base)
    return (
      planWithTail(catalog, target) ?? { refused: `No base backup with unbroken WAL reaches ${target}.` }
    );
  const { run } = reachOf(base, catalog.segments);
  const segments: PitrManifest[] = [];
  for (const s of run) {
    segments.push(s);
    if (s.coversUntil !== null && s.coversUntil >= target) break;
  }
  return { base, segments };
}

/** An encrypted PITR file and no identity to decrypt it with: refused before anything is done. */
export function identityMissing(file: string): AppError {
  return new AppError(
    'BACKUP.IDENTITY_MISSING',
    'misconfigured',
    `pitr/${file} is encrypted and no encryption_identity_file is set.`,
    {
      suggestion:
        'Nothing was changed. Set encryption_identity_file in the database_backup task to the age identity (AGE-SECRET-KEY-...) of one of its recipients.',
    },
  );
}
