// When continuous protection takes a base backup: once base_backup_period has passed since the newest one, also
// after a restart. The capture asks every tick (100 ms in tests, 1 s in production), so the answer comes from what
// the capture knows (the newest base, read once at start and kept as bases are appended), not from reading and
// verifying the whole PITR catalog, thousands of signed manifests a day, on every tick.
import { mkdtempSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { Clock } from '../../handlers/ports/clock';
import { createCaptureChain } from '../../runtime/pitr/capture-chain';
import type * as pitrFolderModule from '../../runtime/pitr/folder';
import { MANIFEST_SUFFIX } from '../../runtime/pitr/folder';
import { testBackupSettings } from '../support/backup-settings';
import { testSigner } from '../support/backup-signer';
import { recordingLogger } from '../support/recording-logger';

const reads = vi.hoisted(() => ({ count: 0 }));
vi.mock('../../runtime/pitr/folder', async (importOriginal) => {
  const folder = await importOriginal<typeof pitrFolderModule>();
  return {
    ...folder,
    readPitrCatalog: (...args: Parameters<typeof folder.readPitrCatalog>) => {
      reads.count++;
      return folder.readPitrCatalog(...args);
    },
  };
});

const PERIOD_MS = 60_000;
const signer = testSigner();
let now: number;
const clock: Clock = {
  now: () => new Date(now),
  elapsedMs: () => now,
  sleep: () => Promise.resolve(),
};

let directory: string;
const chainOn = () =>
  createCaptureChain({
    settings: testBackupSettings({
      directory,
      continuous: {
        slot: 'bomnipotent_backup',
        baseBackupPeriodMs: PERIOD_MS,
        sealIntervalMs: 30_000,
        maxHeldWalBytes: 2 ** 30,
        pitrWindowMs: null,
      },
    }),
    signer: () => signer,
    trustedKeys: () => [signer.publicKey],
    logger: recordingLogger(),
    clock,
  });

/** A sealed base backup file and its signed manifest in the chain, as takeBaseBackup appends it. */
async function appendBase(chain: ReturnType<typeof chainOn>, name: string) {
  const bytes = Buffer.from(`base ${name}`);
  await writeFile(join(directory, 'pitr', 'base', name), bytes);
  return chain.append({
    kind: 'base',
    file: `base/${name}`,
    sizeBytes: bytes.length,
    sha256: '0'.repeat(64),
    compression: 'zstd',
    encryption: null,
    systemIdentifier: '7000000000000000001',
    database: 'app',
    serverMajor: 16,
    segment: '000000010000000000000002',
    endSegment: '000000010000000000000002',
    coversUntil: new Date(now).toISOString(),
    createdAt: new Date(now).toISOString(),
    logicalHeadSha256: null,
  });
}

const ask = async (chain: ReturnType<typeof chainOn>, ticks: number) => {
  const answers = new Set<boolean>();
  for (let i = 0; i < ticks; i++) answers.add(await chain.baseDue());
  return [...answers];
};

beforeEach(async () => {
  directory = mkdtempSync(join(tmpdir(), 'pitr-base-due-'));
  await mkdir(join(directory, 'pitr', 'base'), { recursive: true });
  now = Date.parse('2026-12-07T12:00:00Z');
  reads.count = 0;
});

describe('baseDue', () => {
  it('answers every tick without reading the catalog again: once the period has passed since the newest base', async () => {
    const chain = chainOn();
    expect(await ask(chain, 3)).toEqual([true]); // no base yet
    await appendBase(chain, 'first.tar.zst');
    const readsAtStart = reads.count;
    expect(readsAtStart).toBeLessThanOrEqual(1); // the one read at start
    now += PERIOD_MS - 1;
    expect(await ask(chain, 200)).toEqual([false]);
    now += 1;
    expect(await ask(chain, 200)).toEqual([true]);
    await appendBase(chain, 'second.tar.zst');
    expect(await ask(chain, 200)).toEqual([false]);
    expect(reads.count).toBe(readsAtStart);
  });

  it('after a restart, reads the newest base once and counts the period from it', async () => {
    await appendBase(chainOn(), 'before-restart.tar.zst');
    now += PERIOD_MS / 2;
    const restarted = chainOn();
    expect(await ask(restarted, 200)).toEqual([false]);
    expect(reads.count).toBe(1);
    now += PERIOD_MS / 2;
    expect(await ask(restarted, 200)).toEqual([true]);
    expect(reads.count).toBe(1);
  });

  it('reads the catalog again when the newest base was removed meanwhile, and is due by the one before it', async () => {
    const chain = chainOn();
    await appendBase(chain, 'older.tar.zst');
    now += PERIOD_MS;
    await appendBase(chain, 'newer.tar.zst');
    expect(await ask(chain, 10)).toEqual([false]);
    await rm(join(directory, 'pitr', 'base', `newer.tar.zst${MANIFEST_SUFFIX}`));
    await rm(join(directory, 'pitr', 'base', 'newer.tar.zst'));
    expect(await ask(chain, 10)).toEqual([true]);
  });

  it('is due at once when asked for (a gap in the WAL), then by the period again', async () => {
    const chain = chainOn();
    await appendBase(chain, 'only.tar.zst');
    chain.needBase();
    expect(await chain.baseDue()).toBe(true);
    expect(await chain.baseDue()).toBe(false);
  });
});
