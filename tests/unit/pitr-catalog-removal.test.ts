// Reading the PITR catalog while retention removes the oldest files. Retention removes each manifest and then its
// data file, oldest first; a read that overlapped it saw a manifest whose data file had just gone ("wal/…02.zst is
// missing", a CI failure of pitr-retention) or an older entry kept and a newer one gone (a broken chain): for a moment
// the window was cut, and a restore to a point could have been refused. Here a real signed chain of 300 segments is
// removed in retention's order while the catalog is read in a loop: no read may report a problem.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createChainWriter } from '../../runtime/pitr/chain-writer';
import { ensurePitrFolder, MANIFEST_SUFFIX, pitrFolder, readPitrCatalog } from '../../runtime/pitr/folder';
import { testSigner } from '../support/backup-signer';
import { recordingLogger } from '../support/recording-logger';

const directory = mkdtempSync(join(tmpdir(), 'pitr-removal-'));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

const segmentName = (n: number) => `00000001${'0'.repeat(8)}${n.toString(16).toUpperCase().padStart(8, '0')}`;

describe('the PITR catalog read while retention removes the oldest files', { timeout: 60_000 }, () => {
  it('never reports a missing file or a broken chain for files removed meanwhile', async () => {
    const signer = testSigner();
    const folder = pitrFolder(directory);
    await ensurePitrFolder(folder);
    const writer = createChainWriter({
      directory,
      folder,
      signer: () => signer,
      trustedKeys: () => [signer.publicKey],
      logger: recordingLogger(),
    });
    const COUNT = 300;
    const at = (i: number) => new Date(Date.UTC(2026, 11, 7, 12, 0, i)).toISOString();
    for (let i = 1; i <= COUNT; i += 1) {
      const file = `wal/${segmentName(i)}.zst`;
      writeFileSync(join(folder.root, file), 'x'.repeat(10));
      await writer.append({
        kind: 'wal',
        file,
        sizeBytes: 10,
        sha256: 'a'.repeat(64),
        compression: 'zstd',
        encryption: null,
        systemIdentifier: '7716669460615197705',
        database: 'app',
        serverMajor: 15,
        segment: segmentName(i),
        endSegment: null,
        coversUntil: at(i),
        createdAt: at(i),
        logicalHeadSha256: null,
      });
    }
    expect((await readPitrCatalog(directory, [signer.publicKey])).problem).toBeNull();

    let removing = true;
    const removal = (async () => {
      for (let i = 1; i <= COUNT - 20; i += 1) {
        const file = join(folder.root, `wal/${segmentName(i)}.zst`);
        await rm(file + MANIFEST_SUFFIX); // retention's order (runtime/pitr/prune.ts): the manifest, then the data
        await rm(file);
        await new Promise((r) => setTimeout(r, 5)); // spread over many reads
      }
      removing = false;
    })();
    const problems = new Set<string>();
    let reads = 0;
    while (removing) {
      const catalog = await readPitrCatalog(directory, [signer.publicKey]);
      reads += 1;
      if (catalog.problem) problems.add(catalog.problem);
    }
    await removal;
    expect(reads).toBeGreaterThan(3); // the reads really overlapped the removal
    expect([...problems]).toEqual([]);
    const after = await readPitrCatalog(directory, [signer.publicKey]);
    expect(after.problem).toBeNull();
    expect(after.segments).toHaveLength(20);
  });
});
