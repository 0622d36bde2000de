// When the PITR rehearsal schedule runs one: without a trusted record at once, then once per period, and after a
// failure again after an hour (or the period when shorter).
import { describe, expect, it } from 'vitest';
import { pitrRehearsalDue } from '../../handlers/pitr/rehearsal-schedule';
import { PITR_REHEARSAL_FORMAT, type PitrRehearsalRecord } from '../../handlers/pitr/rehearsal-record';

const DAY = 86_400_000;
const now = new Date('2026-12-07T12:00:00Z');
const record = (ok: boolean, agoMs: number): PitrRehearsalRecord => ({
  format: PITR_REHEARSAL_FORMAT,
  database: 'bomnipotent',
  rehearsedAt: new Date(now.getTime() - agoMs).toISOString(),
  durationMs: 1000,
  ok,
  mark: { at: now.toISOString(), lsn: '0/3000148', tableRows: {} },
  base: 'base/x.tar.zst',
  segments: 1,
  recoveredRows: {},
  error: ok ? null : 'row counts differ',
});

describe('pitrRehearsalDue', () => {
  it('is due without a record or with an untrusted one', () => {
    expect(pitrRehearsalDue(null, DAY, now)).toBe(true);
    expect(pitrRehearsalDue({ ok: false, reason: 'forged' }, DAY, now)).toBe(true);
  });

  it('runs a passed one again once per period', () => {
    expect(pitrRehearsalDue({ ok: true, record: record(true, DAY - 1) }, DAY, now)).toBe(false);
    expect(pitrRehearsalDue({ ok: true, record: record(true, DAY) }, DAY, now)).toBe(true);
  });

  it('retries a failed one after an hour, or after the period when it is shorter', () => {
    expect(pitrRehearsalDue({ ok: true, record: record(false, 3_599_000) }, DAY, now)).toBe(false);
    expect(pitrRehearsalDue({ ok: true, record: record(false, 3_600_000) }, DAY, now)).toBe(true);
    expect(pitrRehearsalDue({ ok: true, record: record(false, 600_000) }, 600_000, now)).toBe(true);
  });
});
