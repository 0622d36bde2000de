// The chain of signed manifests: missing sequences, and links that do not join (another chain mixed in).
import { describe, expect, it } from 'vitest';
import { manifestDigest } from '../../handlers/backup/manifest';
import { selectBackup } from '../../handlers/backup/select-backup';
import { assessChain, describeChain, restartedChain } from '../../handlers/backup/trust';
import type { BackupManifest } from '../../handlers/backup/manifest';
import type { CatalogEntry } from '../../handlers/backup/model';
import { manifestFor, metadataFor } from '../support/restore-fakes';

function entry(manifest: BackupManifest): CatalogEntry {
  return {
    file: manifest.file,
    path: `/backups/${manifest.file}`,
    sizeBytes: 100,
    state: 'trusted',
    reason: null,
    manifest,
    legacy: null,
  };
}

/** Backups of database `app`, each linked to the one before it (the first one starts the chain). */
function chain(days: number[], firstSequence = 1): BackupManifest[] {
  const out: BackupManifest[] = [];
  days.forEach((day, i) => {
    const file = `app_202601${String(day).padStart(2, '0')}_103024.dump`;
    const previous = out[out.length - 1];
    out.push({
      ...manifestFor(file, metadataFor(file)),
      sequence: firstSequence + i,
      previousManifestSha256: previous ? manifestDigest(previous) : null,
    });
  });
  return out;
}

describe('the chain of backups', () => {
  it('a whole chain has no gap and no broken link', () => {
    const report = assessChain(chain([1, 2, 3]).map(entry), 'app', 3);
    expect(report.brokenLinks).toEqual([]);
    expect(report.missingNewest).toEqual([]);
    expect(describeChain(report)).toBeNull();
  });

  it('names a backup that does not follow the one before it: a manifest of another chain', () => {
    const [first, , third] = chain([1, 2, 3]);
    const [, foreignSecond] = chain([4, 5]); // another server's backup with sequence 2
    const report = assessChain([first!, { ...foreignSecond!, sequence: 2 }, third!].map(entry), 'app', 3);
    // The foreign 2 does not follow 1; the genuine 3 does not follow the foreign 2 either.
    expect(report.brokenLinks).toEqual([2, 3]);
    expect(describeChain(report)).toMatch(/sequence 2-3 do not follow the backup before them/);
  });

  it('a chain start (the first backup after a key rotation) and a gap are not broken links', () => {
    const [first, second] = chain([1, 2]);
    const rotated = chain([3, 4], 3); // a new key starts a chain of its own at sequence 3
    const report = assessChain([first!, second!, ...rotated].map(entry), 'app', 4);
    expect(report.brokenLinks).toEqual([]);
    const [a, , c] = chain([1, 2, 3]);
    const gap = assessChain([a!, c!].map(entry), 'app', 3);
    expect(gap.brokenLinks).toEqual([]);
    expect(gap.missingBetween).toEqual([2]);
  });
});

describe('a chain that starts anew (a server set up anew backs up its new database first)', () => {
  const lost = chain([1, 2, 3], 55); // the lost server's backups, sequence 55-57
  const fresh = chain([20, 21]); // the new server's own, newer, sequence 1-2

  it('is found, and "the latest" is refused naming both backups; a named file is restored', () => {
    const found = restartedChain([...lost, ...fresh]);
    expect([found?.newest.file, found?.highest.file]).toEqual([fresh[1]!.file, lost[2]!.file]);
    const entries = [...lost, ...fresh].map(entry);
    expect(() => selectBackup(entries, { database: 'app' })).toThrow(
      expect.objectContaining({
        code: 'BACKUP.CHAIN_RESTARTED',
        suggestion: expect.stringContaining(`--file ${lost[2]!.file}`),
      }),
    );
    expect(selectBackup(entries, { database: 'app', file: lost[2]!.file }).file).toBe(lost[2]!.file);
  });

  it('is not found for a key rotation (the sequence goes on) or a replica whose clock is behind (same chain)', () => {
    const rotated = chain([4, 5], 58); // a new key's chain start, continuing at 58
    expect(restartedChain([...lost, ...rotated])).toBeNull();
    // Sequence 57 signed at an earlier time than 56 (its replica's clock was behind), but 57 names 56 as previous.
    const [a, b, c] = lost;
    const skewed = { ...c!, createdAt: '2026-01-01T00:00:00.000Z' };
    expect(restartedChain([a!, b!, skewed])).toBeNull();
    expect(restartedChain(lost)).toBeNull();
  });
});
