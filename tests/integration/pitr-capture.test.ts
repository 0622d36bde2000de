// Continuous protection against a real PostgreSQL cluster and the real pg_receivewal and pg_basebackup: a base backup
// and sealed, signed WAL segments appear; a commit is covered by the window within the seal interval; a forged,
// truncated or missing segment cuts the window short with a line that names it.
import { readdir, readFile, truncate, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planRecovery } from '../../handlers/pitr/window';
import { readPitrCatalog } from '../../runtime/pitr/folder';
import { closePitrWorld, startPitrWorld, type PitrWorld, waitForWindow } from '../support/pitr-world';

let world: PitrWorld;

beforeAll(async () => {
  world = await startPitrWorld();
  await world.query('CREATE TABLE docs (id serial PRIMARY KEY, body text)');
});

afterAll(() => closePitrWorld(world));

describe('continuous capture', { timeout: 180_000 }, () => {
  it('takes a base backup and seals signed WAL segments until a commit is covered', async () => {
    await waitForWindow(world, 110_000);
    await world.query("INSERT INTO docs (body) VALUES ('first')");
    const acknowledged = new Date();
    const catalog = await world.coveredUntil(acknowledged.toISOString());
    const seconds = (Date.now() - acknowledged.getTime()) / 1000;
    console.log(`a commit was covered by the signed window after ${seconds.toFixed(1)} s`);
    expect(catalog.problem).toBeNull();
    expect(catalog.bases).toHaveLength(1);
    expect(catalog.bases[0]!.file).toMatch(/^base\/.*\.tar\.zst$/);
    expect(catalog.segments.length).toBeGreaterThan(0);
    expect(catalog.window!.earliest <= acknowledged.toISOString()).toBe(true);
    const wal = await readdir(join(world.directory, 'pitr', 'wal'));
    expect(wal.some((n) => /^[0-9A-F]{24}\.zst$/.test(n))).toBe(true);
    expect(wal.some((n) => /^[0-9A-F]{24}\.zst\.manifest\.json$/.test(n))).toBe(true);
    // The base names the head of the logical chain (none here) and the chain is one sequence.
    const sequences = [...catalog.bases, ...catalog.segments].map((m) => m.sequence).sort((a, b) => a - b);
    expect(sequences).toEqual(sequences.map((_, i) => sequences[0]! + i));
  });

  it('refuses a point outside the window with a line that names the window', async () => {
    const catalog = await world.catalog();
    const plan = planRecovery(catalog, '2000-01-01T00:00:00.000Z');
    expect(plan).toEqual({
      refused: expect.stringMatching(
        /^The target 2000-01-01T00:00:00.000Z is outside the restorable window .+ to .+\.$/,
      ),
    });
  });

  it('cuts the window at a forged, truncated or missing segment, naming it', async () => {
    for (const body of ['second', 'third', 'fourth']) {
      await world.query('INSERT INTO docs (body) VALUES ($1)', [body]);
      await world.coveredUntil(new Date().toISOString());
    }
    await world.capture.stop(); // nothing changes the folder while the test alters it
    const catalog = await world.catalog();
    const sealed = catalog.segments.filter(
      (s) => s.coversUntil !== null && s.coversUntil > catalog.window!.earliest,
    );
    const victim = sealed.at(-2)!;
    const root = join(world.directory, 'pitr');
    const manifestPath = join(root, `${victim.file}.manifest.json`);
    const original = await readFile(manifestPath, 'utf8');

    // Forged: a signed field altered without the key.
    await writeFile(manifestPath, original.replace(/"sizeBytes": \d+/, '"sizeBytes": 1'));
    let cut = await readPitrCatalog(world.directory, [world.signer.publicKey]);
    expect(cut.problem).toContain(
      `${victim.file}.manifest.json is not trusted: the signature does not match`,
    );
    expect(cut.window!.latest < catalog.window!.latest).toBe(true);
    await writeFile(manifestPath, original);

    // Truncated data file.
    const dataPath = join(root, victim.file);
    const bytes = await readFile(dataPath);
    await truncate(dataPath, 10);
    cut = await readPitrCatalog(world.directory, [world.signer.publicKey]);
    expect(cut.problem).toBe(
      `${victim.file} has 10 bytes, its manifest signed ${victim.sizeBytes} (truncated or altered)`,
    );
    expect(cut.window!.latest < catalog.window!.latest).toBe(true);

    // Missing segment (data and manifest gone): the chain breaks after the one before it.
    await unlink(dataPath);
    await unlink(manifestPath);
    cut = await readPitrCatalog(world.directory, [world.signer.publicKey]);
    expect(cut.problem).toMatch(/^the chain breaks after .* \(sequence \d+\): .* does not follow it/);
    expect(cut.window!.latest < catalog.window!.latest).toBe(true);
    await writeFile(dataPath, bytes);
    await writeFile(manifestPath, original);
    expect((await readPitrCatalog(world.directory, [world.signer.publicKey])).window).toEqual(catalog.window);
  });
});
