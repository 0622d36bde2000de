// The signed tail: its signature never passes for a base or segment manifest or a dump's (nor theirs for a tail), and
// the window extends to its covered instant only when it is trusted, intact and bound to the head of the run the window
// ends with, continuing with the next segment.
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { canonicalJson, publicKeyId, signEnvelope } from '../../handlers/backup/manifest';
import {
  pitrDigest,
  PITR_FORMAT,
  readPitrManifest,
  signPitrManifest,
  type PitrManifest,
} from '../../handlers/pitr/manifest';
import {
  PITR_TAIL_FORMAT,
  readPitrTail,
  signPitrTail,
  type PitrTail,
} from '../../handlers/pitr/tail-manifest';
import {
  assessPitr,
  planRecovery,
  segmentName,
  type PitrEntry,
  type PitrTailEntry,
} from '../../handlers/pitr/window';

const key = generateKeyPairSync('ed25519').privateKey;
const trusted = [publicKeyId(createPublicKey(key))];
const seg = (n: number) => segmentName(1, n);
const at = (second: number) => new Date(Date.UTC(2026, 11, 7, 10, 0, second)).toISOString();
const common = {
  sizeBytes: 100,
  sha256: 'a'.repeat(64),
  compression: 'zstd',
  encryption: null,
  systemIdentifier: '7',
  database: 'app',
  serverMajor: 15,
} as const;

/** A base over segment 2 ending at second 10, then segments 2..4 covering 20, 30, 40. */
function chain(): PitrManifest[] {
  const items: Omit<PitrManifest, 'sequence' | 'previousManifestSha256'>[] = [
    {
      ...common,
      format: PITR_FORMAT,
      kind: 'base',
      file: 'base/b1.tar.zst',
      segment: seg(2),
      endSegment: seg(2),
      coversUntil: at(10),
      createdAt: at(1),
      logicalHeadSha256: null,
    },
  ];
  for (let n = 2; n <= 4; n++)
    items.push({
      ...common,
      format: PITR_FORMAT,
      kind: 'wal',
      file: `wal/${seg(n)}.zst`,
      segment: seg(n),
      endSegment: null,
      coversUntil: at(10 * n),
      createdAt: at(10 * n),
      logicalHeadSha256: null,
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

function tailAfter(head: PitrManifest, changes: Partial<PitrTail> = {}): PitrTail {
  return {
    ...common,
    format: PITR_TAIL_FORMAT,
    kind: 'tail',
    file: `tail/${seg(5)}-00001000.zst`,
    segment: seg(5),
    walBytes: 0x1000,
    lsn: '0/5001000',
    coversUntil: at(44),
    createdAt: at(44),
    previousManifestSha256: pitrDigest(head),
    previousSequence: head.sequence,
    ...changes,
  };
}

const entries = (manifests: PitrManifest[]): PitrEntry[] =>
  manifests.map((m) => ({
    manifestFile: `${m.file}.manifest.json`,
    manifest: m,
    reason: null,
    dataSizeBytes: m.sizeBytes,
  }));
const tailEntry = (tail: PitrTail, changes: { dataSha256?: string } = {}): PitrTailEntry => ({
  manifestFile: `${tail.file}.manifest.json`,
  tail,
  reason: null,
  dataSizeBytes: tail.sizeBytes,
  dataSha256: changes.dataSha256 ?? tail.sha256,
});

describe('the tail manifest', () => {
  it('reads back under its own context, and never as a base or segment manifest', () => {
    const tail = tailAfter(chain().at(-1)!);
    const text = signPitrTail(tail, key);
    expect(readPitrTail(text, trusted, tail.file)).toEqual({ ok: true, tail });
    expect(readPitrManifest(text, trusted, tail.file)).toMatchObject({ ok: false });
  });

  it('refuses a segment manifest, and a tail signed under the PITR or the dump context', () => {
    const wal = chain().at(-1)!;
    expect(readPitrTail(signPitrManifest(wal, key), trusted, wal.file)).toMatchObject({ ok: false });
    const tail = tailAfter(wal);
    for (const context of ['BOMNIPOTENT-PITR-MANIFEST-V1\n', 'BOMNIPOTENT-BACKUP-MANIFEST-V2\n']) {
      const text = signEnvelope(tail, Buffer.from(context + canonicalJson(tail), 'utf8'), key);
      expect(readPitrTail(text, trusted, tail.file)).toMatchObject({
        ok: false,
        reason: expect.stringMatching(/signature/i),
      });
    }
  });

  it('refuses a tail signed by a key that is not trusted', () => {
    const tail = tailAfter(chain().at(-1)!);
    const other = generateKeyPairSync('ed25519').privateKey;
    expect(readPitrTail(signPitrTail(tail, other), trusted, tail.file)).toMatchObject({ ok: false });
  });
});

describe('the window with a tail', () => {
  it('ends at the tail when it continues the head, and a restore past the sealed point replays it last', () => {
    const list = chain();
    const tail = tailAfter(list.at(-1)!);
    const catalog = assessPitr(entries(list), tailEntry(tail));
    expect(catalog.window).toEqual({ earliest: at(10), latest: at(44) });
    expect(catalog.sealedLatest).toBe(at(40));
    expect(catalog.tailProblem).toBeNull();
    const plan = planRecovery(catalog, at(42));
    expect(plan).toMatchObject({ base: list[0], tail });
    expect('segments' in plan && plan.segments.map((s) => s.segment)).toEqual([seg(2), seg(3), seg(4)]);
    // Inside the sealed part: never the tail.
    expect(planRecovery(catalog, at(35))).not.toHaveProperty('tail');
  });

  it('is not used when altered or bound to another head, and says why', () => {
    const list = chain();
    const head = list.at(-1)!;
    const cases: [ReturnType<typeof tailEntry>, RegExp][] = [
      [tailEntry(tailAfter(head), { dataSha256: 'b'.repeat(64) }), /SHA-256 .* differs/],
      [tailEntry(tailAfter(head, { previousManifestSha256: 'c'.repeat(64) })), /not in the chain/],
      [
        tailEntry(tailAfter(head, { segment: seg(6), file: `tail/${seg(6)}-00001000.zst` })),
        /does not continue/,
      ],
      [{ ...tailEntry(tailAfter(head)), tail: null, reason: 'the signature does not verify' }, /not trusted/],
    ];
    for (const [entry, why] of cases) {
      const catalog = assessPitr(entries(list), entry);
      expect(catalog.window?.latest).toBe(at(40));
      expect(catalog.tail).toBeNull();
      expect(catalog.tailProblem).toMatch(why);
      expect(catalog.problem).toMatch(why);
    }
  });

  it('is left out without a problem of its own when the window ends before its head (a gap, named as such)', () => {
    const list = chain();
    const last = list.at(-1)!;
    // Segment 5 missing: the chain goes on with 6, the head, which the tail continues; the window ends with 4.
    const six = {
      ...last,
      file: `wal/${seg(6)}.zst`,
      segment: seg(6),
      coversUntil: at(60),
      sequence: last.sequence + 1,
      previousManifestSha256: pitrDigest(last),
    };
    const tail = tailAfter(six, {
      segment: seg(7),
      file: `tail/${seg(7)}-00001000.zst`,
      coversUntil: at(66),
    });
    const catalog = assessPitr(entries([...list, six]), tailEntry(tail));
    expect(catalog.window?.latest).toBe(at(40));
    expect(catalog.tail).toBeNull();
    expect(catalog.tailProblem).toBeNull();
    expect(catalog.problem).toMatch(/the WAL has a gap/);
  });

  it('is superseded without a problem once its head is no longer the newest link', () => {
    const list = chain();
    const stale = tailAfter(list[2]!, {
      segment: seg(4),
      file: `tail/${seg(4)}-00001000.zst`,
      coversUntil: at(33),
    });
    const catalog = assessPitr(entries(list), tailEntry(stale));
    expect(catalog.window?.latest).toBe(at(40));
    expect(catalog.tailProblem).toBeNull();
    expect(catalog.problem).toBeNull();
  });
});
