// The bench's continuous protection: the product's own capture (pg_receivewal through a slot, sealed and signed
// segments, base backups) on the bench database of the bench's cluster, copying off-site to an s3rver of its own
// (the S3 protocol server the tests use), with the product's default settings unless the bench says otherwise.
import { mkdirSync } from 'node:fs';
import type { BackupTaskSettings } from '../handlers/backup/settings';
import type { PitrCatalog } from '../handlers/pitr/window';
import { systemClock } from '../runtime/observability/system-clock';
import { manifestNaming } from '../runtime/offsite/naming';
import { startContinuousCapture, type ContinuousCapture } from '../runtime/pitr/capture';
import { readPitrCatalog } from '../runtime/pitr/folder';
import { testBackupSettings } from '../tests/support/backup-settings';
import { offsiteSettings, testStore } from '../tests/support/offsite-fixture';
import { recordingLogger } from '../tests/support/recording-logger';
import { TEST_SIGNER } from '../tests/support/restore-real';
import { s3rverCredentialsEnv, startS3Server, type S3Server } from '../tests/support/s3-server';

export const SLOT = 'bomnipotent_backup';
const BUCKET = 'bench-pitr';

export interface PitrBench {
  directory: string;
  settings: BackupTaskSettings;
  logger: ReturnType<typeof recordingLogger>;
  capture: ContinuousCapture;
  catalog(): Promise<PitrCatalog>;
  /** The files (`wal/<segment>.zst`, `base/...`) whose manifests are in the off-site store. */
  offsiteFiles(): Promise<Set<string>>;
  /** Stops the capture and starts it again with a cap on the WAL the slot may hold back (the disk part). */
  restartWithCap(maxHeldWalBytes: number, slotCheckMs?: number): void;
  stop(): Promise<void>;
}

export interface PitrSettings {
  sealIntervalMs: number;
  tailIntervalMs: number;
  maxHeldWalBytes: number;
}

/** The S3 server first (the AWS chain pointed at its key), then the capture, which takes its first base backup. */
export async function startPitrBench(dbUrl: string, directory: string, s: PitrSettings): Promise<PitrBench> {
  for (const [key, value] of Object.entries(s3rverCredentialsEnv())) process.env[key] = value;
  const s3: S3Server = await startS3Server();
  await s3.createBucket(BUCKET);
  mkdirSync(directory, { recursive: true });
  const offsite = offsiteSettings(s3.endpoint, BUCKET);
  const logger = recordingLogger({ upTo: 'info' });
  let settings = testBackupSettings({
    directory,
    scheduled: false,
    offsite,
    compression: 'zstd',
    continuous: {
      slot: SLOT,
      baseBackupPeriodMs: 86_400_000,
      sealIntervalMs: s.sealIntervalMs,
      tailIntervalMs: s.tailIntervalMs,
      maxHeldWalBytes: s.maxHeldWalBytes,
      pitrWindowMs: null,
    },
  });
  const start = (slotCheckMs?: number) =>
    startContinuousCapture({
      dbUrl,
      settings,
      signer: () => TEST_SIGNER,
      trustedKeys: () => [TEST_SIGNER.publicKey],
      logger,
      clock: systemClock(),
      ...(slotCheckMs ? { slotCheckMs } : {}),
    });
  const naming = manifestNaming((name) => !name.endsWith('.manifest.json'), '.manifest.json');
  const walStore = testStore(offsiteSettings(s3.endpoint, BUCKET, { prefix: 'bomnipotent/pitr/wal/' }), {
    naming,
  });
  const bench: PitrBench = {
    directory,
    get settings() {
      return settings;
    },
    logger,
    capture: start(),
    catalog: () => readPitrCatalog(directory, [TEST_SIGNER.publicKey]),
    offsiteFiles: async () => new Set((await walStore.list()).backups.map((b) => `wal/${b.file}`)),
    restartWithCap(maxHeldWalBytes, slotCheckMs) {
      settings = { ...settings, continuous: { ...settings.continuous!, maxHeldWalBytes } };
      bench.capture = start(slotCheckMs);
    },
    async stop() {
      await bench.capture.stop();
      await s3.close();
    },
  };
  return bench;
}
