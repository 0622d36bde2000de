// Continuous protection off-site, against a real capture and a real S3 protocol server (s3rver): every sealed base
// backup and WAL segment arrives in the store under <prefix>pitr/, with its signed manifest, byte for byte; a store
// that is down is caught up once it is back; pitr_window's retention removes in the store what it removed here.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../runtime/observability/system-clock';
import { manifestNaming } from '../../runtime/offsite/naming';
import { createPitrOffsite } from '../../runtime/pitr/offsite';
import { offsiteSettings, testStore } from '../support/offsite-fixture';
import { freshBucket, s3Suite } from '../support/offsite-world';
import { closePitrWorld, startPitrWorld, type PitrWorld } from '../support/pitr-world';
import { until } from '../support/until';

const suite = s3Suite();
let world: PitrWorld;
let bucket: string;

const naming = manifestNaming((name) => !name.endsWith('.manifest.json'), '.manifest.json');
const storeOf = (sub: 'base' | 'wal') =>
  testStore(offsiteSettings(suite.server.endpoint, bucket, { prefix: `bomnipotent/pitr/${sub}/` }), {
    naming,
  });
const offsiteFiles = async () => {
  const files: string[] = [];
  for (const sub of ['base', 'wal'] as const)
    for (const b of (await storeOf(sub).list()).backups) files.push(`${sub}/${b.file}`);
  return files.sort();
};

beforeAll(async () => {
  bucket = await freshBucket(suite.server, 'pitr');
  world = await startPitrWorld({ offsite: offsiteSettings(suite.server.endpoint, bucket) });
  await world.query('CREATE TABLE docs (id serial PRIMARY KEY, body text)');
});

afterAll(() => closePitrWorld(world));

describe('continuous protection off-site', () => {
  it('copies every sealed base backup and segment with its manifest to the store, byte for byte', async () => {
    await world.query("INSERT INTO docs (body) VALUES ('first')");
    const acknowledged = new Date();
    await world.coveredUntil(acknowledged.toISOString());
    const local = await world.catalog();
    const sealed = [...local.bases, ...local.segments].map((m) => m.file).sort();
    await until('every sealed file off-site', async () => {
      const there = await offsiteFiles();
      return sealed.every((f) => there.includes(f)) ? true : undefined;
    });
    console.log(
      `a commit was sealed and off-site ${((Date.now() - acknowledged.getTime()) / 1000).toFixed(1)} s after it was acknowledged`,
    );
    const s3 = storeOf('wal').client;
    const segment = local.segments.at(-1)!;
    for (const name of [segment.file, `${segment.file}.manifest.json`]) {
      const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: `bomnipotent/pitr/${name}` }));
      const bytes = Buffer.from(await object.Body!.transformToByteArray());
      expect(bytes.equals(await readFile(join(world.directory, 'pitr', name)))).toBe(true);
    }
    expect((await storeOf('base').list()).backups[0]!.sizeBytes).toBe(local.bases[0]!.sizeBytes);
    // The logical backups' listing of the same prefix leaves pitr/ out (nothing "foreign" there).
    const main = await testStore(offsiteSettings(suite.server.endpoint, bucket)).list();
    expect(main).toEqual({ backups: [], incomplete: [], foreign: [] });
  });

  it('catches up once a store that was down is back', async () => {
    await suite.server.stop();
    await world.query("INSERT INTO docs (body) VALUES ('while the store is down')");
    const during = await world.coveredUntil(new Date().toISOString());
    await until('the failure logged', async () =>
      world.logger.lines.some((l) => l.includes('failed') && l.includes('retried every 30 s'))
        ? true
        : undefined,
    );
    await suite.server.restart();
    const sealed = [...during.bases, ...during.segments].map((m) => m.file);
    await until(
      'the segments sealed while the store was down to arrive',
      async () => {
        const there = await offsiteFiles();
        return sealed.every((f) => there.includes(f)) ? true : undefined;
      },
      90_000,
    );
    await until('the recovery logged', async () =>
      world.logger.lines.some((l) => l.includes('copies to') && l.includes('work again')) ? true : undefined,
    );
  });

  it("removes in the store what pitr_window's retention removed here, older files only", async () => {
    const local = await world.catalog();
    const [oldest, ...rest] = local.segments;
    const offsite = createPitrOffsite({
      offsite: offsiteSettings(suite.server.endpoint, bucket),
      directory: world.directory,
      clock: systemClock(),
      logger: world.logger,
    });
    // As after a local retention run that removed the oldest segment: the store keeps the rest.
    await offsite.prune([...local.bases, ...rest]);
    const there = await offsiteFiles();
    expect(there).not.toContain(oldest!.file);
    for (const m of [...local.bases, ...rest]) expect(there).toContain(m.file);
  });
});
