// The bench's point-in-time recovery part: off unless asked for, and its verdicts against issue 21's targets.
import { describe, expect, it } from 'vitest';
import { parseOptions } from '../../bench/options';
import type { PitrFigures } from '../../bench/pitr-run';
import { pitrVerdicts, renderPitr } from '../../bench/pitr-summary';

const MB = 2 ** 20;

function figures(over: Partial<PitrFigures> = {}): PitrFigures {
  return {
    dataset: 'documents',
    sizeMb: 1000,
    databaseBytes: 1000 * MB,
    sealIntervalMs: 60_000,
    tailIntervalMs: 5_000,
    writerSeconds: 150,
    target: '2026-12-07T15:00:00.000Z',
    segmentsReplayed: 12,
    rpo: {
      commits: 1500,
      streamed: [30, 200, 300],
      signed: [30_000, 61_000, 62_000],
      offsite: [31_000, 62_000, 63_000],
    },
    raw: { ms: 100_000, steps: { 'tar -x': 10_000 } },
    productMs: 140_000,
    exact: {
      product: { acknowledged: 750, missing: [], sentAfter: 750, present: [] },
      raw: { acknowledged: 750, missing: [], sentAfter: 750, present: [] },
    },
    disk: {
      capBytes: 64 * MB,
      maxHeldBytes: 60 * MB,
      burstBytes: 256 * MB,
      burstMs: 4000,
      released: true,
      overCapMs: 3000,
      releaseLine: '[ERROR] ...',
      samples: 40,
    },
    log: [],
    ...over,
  };
}

describe('the PITR part of the bench', () => {
  it('is off by default; --pitr adds it, --pitr-only or BENCH_PITR=only runs it alone', () => {
    const pitrOf = (argv: string[], env: NodeJS.ProcessEnv = {}) => {
      const o = parseOptions(argv, env, '/r');
      return o === 'help' ? 'help' : o.pitr;
    };
    expect(pitrOf([])).toBe('off');
    expect(pitrOf(['--pitr'])).toBe('on');
    expect(pitrOf(['--pitr-only'])).toBe('only');
    expect(pitrOf([], { BENCH_PITR: 'only' })).toBe('only');
    expect(pitrOf([], { BENCH_PITR: '1' })).toBe('on');
    const o = parseOptions([], { BENCH_PITR_SEAL_S: '10' }, '/r');
    expect(o !== 'help' && [o.pitrSeconds, o.pitrSealSeconds, o.pitrTailSeconds, o.pitrCapMb]).toEqual([
      150, 10, 4, 64,
    ]);
  });

  it('judges the recovery point, the restore, exactness and the disk against the targets', () => {
    const v = pitrVerdicts(figures());
    expect(v).toMatchObject({
      signed: false,
      offsite: false,
      ratioPass: true,
      timePass: true,
    });
    expect(v.ratio).toBeCloseTo(1.4);
    // The local target is judged on the signed point (tail or sealed segment), never on the unsigned stream.
    const tailed = figures({ rpo: { ...figures().rpo, signed: [2_000, 4_900, 5_100] } });
    expect(pitrVerdicts(tailed).signed).toBe(true);
    expect(renderPitr(tailed)).toContain('RPO local: signed');
    expect(v.exact).toBe(true);
    expect(v.disk).toBe(true);
    const missing = figures({
      exact: {
        ...figures().exact,
        product: { acknowledged: 750, missing: [3], sentAfter: 750, present: [] },
      },
      disk: { ...figures().disk, maxHeldBytes: 65 * MB },
    });
    expect(pitrVerdicts(missing)).toMatchObject({ exact: false, disk: false });
    expect(renderPitr(missing)).toContain(
      '749 of 750 acknowledged by T there, 0 of 750 sent after T there MISS',
    );
  });
});
