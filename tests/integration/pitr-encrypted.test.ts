// Continuous protection with age encryption (encryption_recipients), end to end against real PostgreSQL and the real
// age: the base backup, the sealed segments and the signed tail are stored encrypted (nothing readable as zstd or
// SQL in the PITR folder but pg_receivewal's own incoming files), a restore to the tail's point decrypts them with
// encryption_identity_file and is exact, and without the identity the restore is refused before anything changes.
import { execFile } from 'node:child_process';
import { mkdtemp, open, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { restoreToPoint } from '../../handlers/pitr/restore-to-point';
import {
  commitWrites,
  startPitrRestoreWorld,
  writtenRows,
  type PitrWorld,
  type TimedCommit,
} from '../support/pitr-world';
import type { RealRestoreWorld } from '../support/restore-real';

const run = promisify(execFile);
const AGE_HEADER = 'age-encryption.org/v1';
let keys: string;
let identityFile: string;
let world: PitrWorld;
let real: RealRestoreWorld;
let commits: TimedCommit[] = [];

beforeAll(async () => {
  keys = await mkdtemp(join(tmpdir(), 'pitr-age-'));
  identityFile = join(keys, 'identity.txt');
  await run('age-keygen', ['-o', identityFile]);
  const recipient = (await run('age-keygen', ['-y', identityFile])).stdout.trim();
  // No segment is sealed after the window's first one: the latest point is the signed tail's.
  ({ world, real } = await startPitrRestoreWorld({
    capture: {
      sealIntervalMs: 300_000,
      tailIntervalMs: 1000,
      encryption: { recipients: [recipient], identityFile },
    },
  }));
  commits = await commitWrites(world, 40);
  await world.coveredUntil(new Date(commits.at(-1)!.ackAt + 1).toISOString());
});

afterAll(async () => {
  await real?.close();
  await world?.close();
  if (keys) await rm(keys, { recursive: true, force: true });
});

/** The first bytes of every stored data file (not manifests) in pitr/<folder>. */
async function heads(folder: string): Promise<Map<string, string>> {
  const directory = join(world.directory, 'pitr', folder);
  const found = new Map<string, string>();
  for (const name of await readdir(directory)) {
    if (name.endsWith('.manifest.json')) continue;
    const handle = await open(join(directory, name));
    try {
      const { buffer, bytesRead } = await handle.read(Buffer.alloc(64), 0, 64, 0);
      found.set(name, buffer.subarray(0, bytesRead).toString('latin1'));
    } finally {
      await handle.close();
    }
  }
  return found;
}

describe('continuous protection with encryption', () => {
  it('stores the base backup, the sealed segments and the tail encrypted with age', async () => {
    for (const folder of ['base', 'wal', 'tail']) {
      const files = await heads(folder);
      expect(files.size, folder).toBeGreaterThan(0);
      for (const [name, head] of files) {
        expect(name, folder).toMatch(/\.zst\.age$/);
        expect(head.startsWith(AGE_HEADER), `${folder}/${name}`).toBe(true);
      }
    }
    const catalog = await world.catalog();
    expect(catalog.tail).not.toBeNull();
    expect(catalog.tail!.encryption).not.toBeNull();
    expect(catalog.window!.latest).toBe(catalog.tail!.coversUntil);
  });

  it('refuses a restore without encryption_identity_file and changes nothing', async () => {
    const target = (await world.catalog()).window!.latest;
    const before = await writtenRows(world);
    const settings = real.settings;
    real.settings = { ...settings, encryptionIdentityFile: undefined };
    try {
      for (const dryRun of [true, false])
        await expect(
          restoreToPoint({ user: 'admin@example.com', to: target, dryRun }, real.ctx),
        ).rejects.toThrow(/pitr\/base\/.* is encrypted and no encryption_identity_file is set/);
    } finally {
      real.settings = settings;
    }
    expect(await writtenRows(world)).toEqual(before);
    // Refused before anything was done: not even the sessions of the database were ended.
    await world.query('SELECT 1');
  });

  it('restores to the tail point with the identity: every commit acknowledged before it, none after', async () => {
    const target = (await world.catalog()).window!.latest;
    const at = Date.parse(target);
    // Written after the target: a restore to it must not have them.
    const after = [1001, 1002, 1003, 1004, 1005];
    for (const n of after) await world.query('INSERT INTO writes (n) VALUES ($1)', [n]);
    await restoreToPoint({ user: 'admin@example.com', to: target }, real.ctx);
    expect(real.logs.some((line) => line.includes('the signed tail pitr/tail/'))).toBe(true);
    const present = new Set(await writtenRows(world));
    const acknowledged = commits.filter((c) => c.ackAt <= at).map((c) => c.n);
    expect(acknowledged.length).toBeGreaterThan(30);
    for (const n of acknowledged) expect(present.has(n), `commit ${n} before the target`).toBe(true);
    expect(present.size).toBeGreaterThanOrEqual(acknowledged.length);
    for (const n of after) expect(present.has(n), `row ${n} written after the target`).toBe(false);
  });
});
