// A world for continuous protection: a private PostgreSQL cluster (wal_level replica, replication allowed over
// scram-sha-256, as initdb sets it up), an application database in it, a backup directory and a running capture.
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import type { OffsiteSettings } from '../../handlers/offsite/model';
import type { ManifestSigner } from '../../handlers/ports/manifest-signer';
import type { Notifier } from '../../handlers/ports/notifier';
import type { PitrCatalog } from '../../handlers/pitr/window';
import { startContinuousCapture, type ContinuousCapture } from '../../runtime/pitr/capture';
import { readPitrCatalog } from '../../runtime/pitr/folder';
import { systemClock } from '../../runtime/observability/system-clock';
import { testBackupSettings } from './backup-settings';
import { testSigner } from './backup-signer';
import { startPrivateCluster, type PrivateCluster } from './private-cluster';
import { recordingLogger } from './recording-logger';
import { until } from './until';

export interface PitrWorld {
  cluster: PrivateCluster;
  appUrl: string;
  directory: string;
  signer: ManifestSigner;
  logger: ReturnType<typeof recordingLogger>;
  capture: ContinuousCapture;
  catalog(): Promise<PitrCatalog>;
  /** Waits until the window's latest point reaches `at` (ISO); returns the catalog then. */
  coveredUntil(at: string, timeoutMs?: number): Promise<PitrCatalog>;
  query(sql: string, params?: unknown[]): Promise<pg.QueryResult>;
  close(): Promise<void>;
}

export async function startPitrWorld(
  options: {
    sealIntervalMs?: number;
    signer?: ManifestSigner;
    maxHeldWalBytes?: number;
    slotCheckMs?: number;
    notifier?: Notifier;
    baseBackupPeriodMs?: number;
    pitrWindowMs?: number;
    pruneMs?: number;
    offsite?: OffsiteSettings;
  } = {},
): Promise<PitrWorld> {
  const cluster = await startPrivateCluster('pitr-secret-password');
  const admin = new pg.Client({ connectionString: cluster.superuserUrl() });
  await admin.connect();
  await admin.query('CREATE DATABASE app');
  await admin.end();
  const appUrl = cluster.superuserUrl('app');
  const client = new pg.Client({ connectionString: appUrl });
  client.on('error', () => {}); // a restore's swap ends this session; the tests read afterwards with new ones
  await client.connect();
  const directory = mkdtempSync(join(tmpdir(), 'pitr-backups-'));
  const signer = options.signer ?? testSigner();
  const logger = recordingLogger();
  const settings = testBackupSettings({
    directory,
    offsite: options.offsite,
    continuous: {
      slot: 'bomnipotent_backup',
      baseBackupPeriodMs: options.baseBackupPeriodMs ?? 86_400_000,
      sealIntervalMs: options.sealIntervalMs ?? 1000,
      maxHeldWalBytes: options.maxHeldWalBytes ?? 2 ** 30,
      pitrWindowMs: options.pitrWindowMs ?? null,
    },
  });
  const capture = startContinuousCapture({
    dbUrl: appUrl,
    settings,
    signer: () => signer,
    trustedKeys: () => [signer.publicKey],
    logger,
    clock: systemClock(),
    notifier: options.notifier,
    tickMs: 100,
    slotCheckMs: options.slotCheckMs ?? 500,
    pruneMs: options.pruneMs,
  });
  const catalog = () => readPitrCatalog(directory, [signer.publicKey]);
  return {
    cluster,
    appUrl,
    directory,
    signer,
    logger,
    capture,
    catalog,
    coveredUntil: (at, timeoutMs = 60_000) =>
      until(
        `the restorable window to reach ${at}`,
        async () => {
          const c = await catalog();
          return c.window && c.window.latest >= at ? c : undefined;
        },
        timeoutMs,
      ),
    query: (sql, params) => client.query(sql, params),
    async close() {
      await capture.stop();
      await client.end().catch(() => {});
      await cluster.stop();
    },
  };
}

/** The pg_receivewal this test process started (the capture runs in it): its own child, found by parent pid. */
export async function receiverPid(): Promise<number | undefined> {
  const found = await promisify(execFile)('pgrep', ['-P', String(process.pid), '-x', 'pg_receivewal']).catch(
    () => ({ stdout: '' }),
  );
  const pids = found.stdout.split('\n').filter(Boolean).map(Number);
  return pids.length === 1 ? pids[0] : undefined;
}
