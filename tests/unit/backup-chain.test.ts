// The chain of signed manifests: missing sequences, and links that do not join (another chain mixed in).
import { describe, expect, it } from 'vitest';
import { manifestDigest } from '../../handlers/backup/manifest';
import { assessChain, describeChain } from '../../handlers/backup/trust';
import type { BackupManifest, CatalogEntry } from '../../handlers/ports';
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
