// Seals the segments pg_receivewal completed in <directory>/pitr/incoming: each is compressed (zstd), encrypted when
// configured (age), signed into the PITR chain and then removed from incoming, but for the newest, which stays as the
// resume point (resume-point.ts); one already sealed (pg_receivewal streamed it again after a restart) is only
// removed. What a segment covers is the instant just before the WAL switch that closed it, when the capture made that
// switch (noteSwitch). A segment that does not follow the newest sealed one
// (that one removed, or the replication slot lost and created anew: the server streams from its current position)
// leaves a gap no restore can cross: it is logged, and the capture takes a new base backup so that a new window starts.
import { createReadStream } from 'node:fs';
import { access, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { BackupTaskSettings } from '../../handlers/backup/settings';
import { SEGMENT_NAME, type PitrManifest } from '../../handlers/pitr/manifest';
import { segmentNumber } from '../../handlers/pitr/window';
import type { Clock } from '../../handlers/ports/clock';
import type { Logger } from '../../handlers/ports/logger';
import { storedFacts } from './base-backup';
import type { ManifestFields } from './chain-writer';
import { MANIFEST_SUFFIX, readPitrCatalog, sealInto, type PitrFolder } from './folder';
import type { ServerFacts } from './preflight';
import { isResumePoint, keepResumePoint } from './resume-point';

export interface SegmentSealer {
  /** The switch that closed `segment` was made just after `before` (ISO 8601). */
  noteSwitch(segment: string, before: string): void;
  /** Seals every completed segment in incoming, oldest first; `gap`: one did not follow the newest sealed one. */
  sealCompleted(facts: ServerFacts): Promise<{ sealed: PitrManifest[]; gap: boolean }>;
  /** The slot was dropped on purpose (a new base backup follows): the next segment starts afresh, not a gap. */
  startAfresh(): void;
}

export function createSegmentSealer(options: {
  settings: BackupTaskSettings;
  folder: PitrFolder;
  clock: Clock;
  logger: Logger;
  trustedKeys: () => readonly string[];
  append: (fields: ManifestFields) => Promise<PitrManifest>;
}): SegmentSealer {
  const { settings, folder } = options;
  let newest: string | null | undefined; // the newest sealed segment; undefined: not read yet, null: none
  let resumePoint: string | undefined; // the resume point this sealer made (or found), not opened again every tick
  const coversUntil = new Map<string, string>(); // segment -> the instant before the switch that closed it
  const suffix = `.zst${settings.encryptionRecipients.length > 0 ? '.age' : ''}`;
  const isSealed = (file: string) =>
    access(join(folder.root, file + MANIFEST_SUFFIX)).then(
      () => true,
      () => false,
    );

  /** Whether `segment` leaves a gap after the newest sealed segment still in the folder (logged once). */
  const leavesGap = async (segment: string) => {
    if (newest && !(await isSealed(`wal/${newest}${suffix}`))) newest = undefined; // removed meanwhile
    if (newest === undefined)
      newest =
        (await readPitrCatalog(settings.directory, options.trustedKeys())).segments.at(-1)?.segment ?? null;
    if (!newest) return false;
    const last = segmentNumber(newest);
    const next = segmentNumber(segment);
    if (next.timeline !== last.timeline || next.number <= last.number + 1) return false;
    options.logger.error(
      `Continuous protection: the WAL between ${newest} and ${segment} is missing (a sealed segment was removed, or the replication slot was lost); the restorable window ends with ${newest}, and a new base backup is taken now to start a new one.`,
    );
    return true;
  };

  return {
    startAfresh() {
      newest = null;
      resumePoint = undefined;
    },
    noteSwitch(segment, before) {
      coversUntil.set(segment, before);
    },
    async sealCompleted(facts) {
      const names = (await readdir(folder.incoming)).filter((n) => SEGMENT_NAME.test(n)).sort();
      const sealed: PitrManifest[] = [];
      let gap = false;
      if (resumePoint !== undefined && !names.includes(resumePoint)) resumePoint = undefined; // removed meanwhile
      for (const segment of names) {
        const file = `wal/${segment}${suffix}`;
        const toSeal =
          segment !== resumePoint &&
          !(await isResumePoint(join(folder.incoming, segment))) &&
          !(await isSealed(file));
        if (toSeal) {
          if (await leavesGap(segment)) gap = true;
          sealed.push(await sealSegment(options, facts, segment, file, coversUntil.get(segment) ?? null));
          newest = segment;
        }
        coversUntil.delete(segment);
      }
      resumePoint = await keepResumePoint(folder.incoming, names, resumePoint);
      // A switch when nothing was written names the segment before, sealed long ago: forget it.
      for (const segment of coversUntil.keys())
        if (names.length > 0 && segment < names[0]!) coversUntil.delete(segment);
      return { sealed, gap };
    },
  };
}

type SealerOptions = Parameters<typeof createSegmentSealer>[0];

async function sealSegment(
  options: SealerOptions,
  facts: ServerFacts,
  segment: string,
  file: string,
  coversUntil: string | null,
): Promise<PitrManifest> {
  const { settings, folder, clock } = options;
  const { sizeBytes, sha256 } = await sealInto(
    folder.root,
    file,
    createReadStream(join(folder.incoming, segment)),
    settings.encryptionRecipients,
  );
  return options.append({
    kind: 'wal',
    file,
    sizeBytes,
    sha256,
    ...storedFacts(settings, facts),
    segment,
    endSegment: null,
    coversUntil,
    createdAt: clock.now().toISOString(),
    logicalHeadSha256: null,
  });
}
