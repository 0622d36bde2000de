// The restorable window from PITR manifests: the chain, the sizes, the WAL's continuity, and what a restore replays.
import { describe, expect, it } from 'vitest';
import { pitrDigest, PITR_FORMAT, type PitrManifest } from '../../handlers/pitr/manifest';
import { assessPitr, planRecovery, segmentName, type PitrEntry } from '../../handlers/pitr/window';

const seg = (n: number) => segmentName(1, n);
const at = (second: number) => new Date(Date.UTC(2026, 11, 7, 10, 0, second)).toISOString();

/** A chain: base over segments 2..3 ending at second 10, then segments 2..8, each covering second 10 * n. */
function chain(): PitrManifest[] {
  const common = {
    format: PITR_FORMAT,
    sizeBytes: 100,
    sha256: 'a'.repeat(64),
    compression: 'zstd',
    encryption: null,
    systemIdentifier: '7',
    database: 'app',
    serverMajor: 15,
    logicalHeadSha256: null,
  } as const;
  const items: Omit<PitrManifest, 'sequence' | 'previousManifestSha256'>[] = [
    {
      ...common,
      kind: 'wal',
      file: `wal/${seg(2)}.zst`,
      segment: seg(2),
      endSegment: null,
      coversUntil: at(5),
      createdAt: at(5),
    },
    {
      ...common,
      kind: 'base',
      file: 'base/b1.tar.zst',
      segment: seg(2),
      endSegment: seg(3),
      coversUntil: at(10),
      createdAt: at(1),
    },
  ];
  for (let n = 3; n <= 8; n++)
    items.push({
      ...common,
      kind: 'wal',
      file: `wal/${seg(n)}.zst`,
      segment: seg(n),
      endSegment: null,
      coversUntil: at(10 * n),
      createdAt: at(10 * n),
    });
  const out: PitrManifest[] = [];
  for (const item of items) {
    const previous = out.at(-1);
    out.push({
      ...item,
      sequence: out.length + 1,
      previousManifestSha256: previous ? pitrDigest(previous) : null,
    });
  }
  return out;
}

const entries = (manifests: PitrManifest[]): PitrEntry[] =>
  manifests.map((m) => ({
    manifestFile: `${m.file}.manifest.json`,
    manifest: m,
    reason: null,
    dataSizeBytes: m.sizeBytes,
  }));

describe('the restorable window', () => {
  it('runs from the end of the base backup to the newest covered instant', () => {
    const catalog = assessPitr(entries(chain()));
    expect(catalog.problem).toBeNull();
    expect(catalog.window).toEqual({ earliest: at(10), latest: at(80) });
  });

  it('ends before a segment whose data file is missing, naming it', () => {
    const list = entries(chain());
    list[5]!.dataSizeBytes = null; // segment 6
    const catalog = assessPitr(list);
    expect(catalog.problem).toBe(`wal/${seg(6)}.zst is missing`);
    expect(catalog.window).toEqual({ earliest: at(10), latest: at(50) });
  });

  it('ends where the chain breaks (a manifest removed)', () => {
    const list = entries(chain()).filter((e) => !e.manifestFile.includes(seg(5)));
    const catalog = assessPitr(list);
    expect(catalog.problem).toMatch(new RegExp(`^the chain breaks after wal/${seg(4)}.zst \\(sequence 4\\)`));
    expect(catalog.window?.latest).toBe(at(40));
  });

  it('ends at a gap in the WAL though the chain holds (a segment never sealed), naming the missing segment', () => {
    const manifests = chain().filter((m) => m.segment !== seg(6) || m.kind !== 'wal');
    for (let i = 1; i < manifests.length; i++) {
      manifests[i] = {
        ...manifests[i]!,
        sequence: i + 1,
        previousManifestSha256: pitrDigest(manifests[i - 1]!),
      };
    }
    const catalog = assessPitr(entries(manifests));
    expect(catalog.problem).toBe(
      `the WAL has a gap: ${seg(6)} is missing after wal/${seg(5)}.zst (a sealed segment was removed, or the replication slot was lost); the window ends before it until the next base backup`,
    );
    expect(catalog.window).toEqual({ earliest: at(10), latest: at(50) });
    expect(planRecovery(catalog, at(60))).toHaveProperty('refused');
  });

  it('has no window before a segment covers a point after the base', () => {
    const catalog = assessPitr(entries(chain().slice(0, 2)));
    expect(catalog.window).toBeNull();
    expect(planRecovery(catalog, at(20))).toEqual({
      refused: 'There is no restorable window yet: continuous protection has not finished a base backup.',
    });
  });

  it('plans the base and the segments up to the first that covers the target, and refuses a target outside', () => {
    const catalog = assessPitr(entries(chain()));
    const plan = planRecovery(catalog, at(45));
    expect('base' in plan && plan.base.file).toBe('base/b1.tar.zst');
    expect('segments' in plan && plan.segments.map((s) => s.segment)).toEqual([seg(3), seg(4), seg(5)]);
    expect(planRecovery(catalog, at(81))).toEqual({
      refused: `The target ${at(81)} is outside the restorable window ${at(10)} to ${at(80)}.`,
    });
    expect(planRecovery(catalog, at(9))).toHaveProperty('refused');
  });
});
