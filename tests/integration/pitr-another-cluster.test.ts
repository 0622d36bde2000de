// A new PostgreSQL cluster (a fresh server after a disaster recovery, an upgrade, a cluster made anew) starts its WAL
// again at segment 1 under the names the old one used. Before the check in runtime/pitr/same-cluster.ts, capture on
// the old server's folder dropped the new WAL as "already sealed", and the off-site copy skipped the new server's
// segments as "already there" and let retention remove the old server's objects by name. Here three real clusters:
// the old server's capture fills a folder and a store (s3rver); a new server is pointed at that folder, then another
// new one at that store; nothing of the old server's is touched, and each refusal says what to do.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manifestNaming } from '../../runtime/offsite/naming';
import { offsiteSettings, testStore } from '../support/offsite-fixture';
import { freshBucket, s3Suite } from '../support/offsite-world';
import { startPitrWorld, waitForWindow, type PitrWorld } from '../support/pitr-world';
import { until } from '../support/until';

const suite = s3Suite();
const worlds: PitrWorld[] = [];
let old: PitrWorld;
let bucket: string;

const naming = manifestNaming((name) => !name.endsWith('.manifest.json'), '.manifest.json');
const storeFiles = async () => {
  const files: string[] = [];
  for (const sub of ['base', 'wal'] as const) {
    const store = testStore(
      offsiteSettings(suite.server.endpoint, bucket, { prefix: `bomnipotent/pitr/${sub}/` }),
      { naming },
    );
    for (const b of (await store.list()).backups) files.push(`${sub}/${b.file}`);
  }
  return files.sort();
};
/** Every file of a PITR folder's base/ and wal/ with the SHA-256 of its bytes. */
const folderState = (root: string) =>
  ['base', 'wal'].flatMap((sub) =>
    readdirSync(join(root, sub))
      .sort()
      .map(
        (name) =>
          `${sub}/${name} ${createHash('sha256')
            .update(readFileSync(join(root, sub, name)))
            .digest('hex')}`,
      ),
  );
const start = async (options: Parameters<typeof startPitrWorld>[0]) => {
  const world = await startPitrWorld(options);
  worlds.push(world);
  return world;
};

beforeAll(async () => {
  bucket = await freshBucket(suite.server, 'pitr-cluster');
  old = await start({ offsite: offsiteSettings(suite.server.endpoint, bucket) });
  await old.query('CREATE TABLE docs (id serial PRIMARY KEY, body text)');
  await old.query("INSERT INTO docs (body) VALUES ('the old server')");
  const local = await old.coveredUntil(new Date().toISOString(), 110_000);
  const sealed = [...local.bases, ...local.segments].map((m) => m.file);
  await until("the old server's files off-site", async () => {
    const there = await storeFiles();
    return sealed.every((f) => there.includes(f)) ? true : undefined;
  });
  await old.capture.stop(); // the old server is gone
});

afterAll(async () => {
  if (process.env.PITR_DEBUG) for (const w of worlds) console.log(w.logger.lines.join('\n'));
  for (const w of worlds) await w.close();
});

describe('the WAL of another PostgreSQL cluster', { timeout: 240_000 }, () => {
  it("a new server on the old one's folder: capture refuses until the folder is moved aside, and the old files stay", async () => {
    const root = join(old.directory, 'pitr');
    const before = folderState(root);
    const fresh = await start({ directory: old.directory, signer: old.signer, retryMs: 300 });
    await until('the refusal', async () =>
      fresh.logger.lines.some((l) => /holds the WAL of another PostgreSQL cluster/.test(l))
        ? true
        : undefined,
    );
    const refusal = fresh.logger.lines.find((l) => /holds the WAL of another PostgreSQL cluster/.test(l))!;
    expect(refusal).toMatch(/^\[ERROR\] Continuous protection is off: .*Move .*pitr aside/);
    await new Promise((resolve) => setTimeout(resolve, 2000)); // a few retries
    expect(folderState(root)).toEqual(before);
    renameSync(root, `${root}.old-server`);
    await fresh.query('CREATE TABLE docs (id serial PRIMARY KEY, body text)');
    await waitForWindow(fresh, 110_000);
    expect(folderState(`${root}.old-server`)).toEqual(before);
    const clusters = new Set((await fresh.catalog()).bases.map((b) => b.systemIdentifier));
    expect(clusters.size).toBe(1);
  });

  it("a new server with the old one's store: nothing is copied there or removed from there, and the line says why", async () => {
    const before = await storeFiles();
    const fresh = await start({
      offsite: offsiteSettings(suite.server.endpoint, bucket),
      signer: old.signer,
      pitrWindowMs: 1, // retention runs and would remove the old server's objects by name
      pruneMs: 200,
    });
    await fresh.query('CREATE TABLE docs (id serial PRIMARY KEY, body text)');
    await waitForWindow(fresh, 110_000);
    await until('the refused copy', async () =>
      fresh.logger.lines.some((l) =>
        /copying sealed WAL .*holds the WAL of another PostgreSQL cluster/.test(l),
      )
        ? true
        : undefined,
    );
    const refusal = fresh.logger.lines.find((l) => /holds the WAL of another PostgreSQL cluster/.test(l))!;
    expect(refusal).toMatch(/another prefix/);
    await new Promise((resolve) => setTimeout(resolve, 1500)); // retention runs again meanwhile
    expect(await storeFiles()).toEqual(before);
  });
});
