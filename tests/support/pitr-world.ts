// A world for continuous protection: a private PostgreSQL cluster (wal_level replica, replication allowed over
// scram-sha-256, as initdb sets it up), an application database in it, a backup directory and a running capture.
import { execFile } from 'node:child_process';
import { appendFileSync, mkdtempSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { expect } from 'vitest';
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
import { createRealContext, migrateToLatest, TEST_SIGNER, type RealRestoreWorld } from './restore-real';

export interface PitrWorld {
  cluster: PrivateCluster;
  appUrl: string;
  directory: string;
  signer: ManifestSigner;
  logger: ReturnType<typeof recordingLogger>;
  capture: ContinuousCapture;
  /** Stops continuous protection and starts it again on the same folder, as a restart of the server would. */
  restartCapture(): Promise<void>;
  catalog(): Promise<PitrCatalog>;
  /** Waits until the window's latest point reaches `at` (ISO); returns the catalog then. */
  coveredUntil(at: string, timeoutMs?: number): Promise<PitrCatalog>;
  query(sql: string, params?: unknown[]): Promise<pg.QueryResult>;
  close(): Promise<void>;
}

export interface PitrWorldOptions {
  sealIntervalMs?: number;
  /** tail_interval (the signed tail); absent: off. */
  tailIntervalMs?: number;
  signer?: ManifestSigner;
  maxHeldWalBytes?: number;
  slotCheckMs?: number;
  notifier?: Notifier;
  baseBackupPeriodMs?: number;
  pitrWindowMs?: number;
  pruneMs?: number;
  offsite?: OffsiteSettings;
  /** The capture logs in as this new role (LOGIN, owns nothing, no REPLICATION) instead of the superuser. */
  captureRole?: string;
  retryMs?: number;
  /** Another world's backup directory (a new database server beside the old one's files); else a new one. */
  directory?: string;
  /** age encryption of everything sealed (encryption_recipients), and the identity a restore decrypts with. */
  encryption?: PitrEncryption;
  /** Runs on the cluster (its database app made) before the capture starts. */
  beforeCapture?: (cluster: PrivateCluster) => Promise<void>;
}

export interface PitrEncryption {
  recipients: string[];
  identityFile: string;
}

export async function startPitrWorld(options: PitrWorldOptions = {}): Promise<PitrWorld> {
  const cluster = await startPrivateCluster('pitr-secret-password');
  const admin = new pg.Client({ connectionString: cluster.superuserUrl() });
  await admin.connect();
  await admin.query('CREATE DATABASE app');
  await admin.end();
  const appUrl = cluster.superuserUrl('app');
  const client = new pg.Client({ connectionString: appUrl });
  client.on('error', () => {}); // a restore's swap ends this session; the tests read afterwards with new ones
  await client.connect();
  let captureUrl = appUrl;
  if (options.captureRole) {
    await client.query(`CREATE ROLE ${options.captureRole} LOGIN PASSWORD 'capture-role-password'`);
    captureUrl = appUrl.replace(
      /^postgres:\/\/postgres:[^@]*@/,
      `postgres://${options.captureRole}:capture-role-password@`,
    );
  }
  await options.beforeCapture?.(cluster);
  const directory = options.directory ?? mkdtempSync(join(tmpdir(), 'pitr-backups-'));
  const signer = options.signer ?? testSigner();
  const logger = recordingLogger();
  if (process.env.PITR_DEBUG_LIVE) logLiveTo(process.env.PITR_DEBUG_LIVE, logger);
  const settings = testBackupSettings({
    directory,
    offsite: options.offsite,
    ...(options.encryption
      ? {
          encryptionRecipients: options.encryption.recipients,
          encryptionIdentityFile: options.encryption.identityFile,
        }
      : {}),
    continuous: {
      slot: 'bomnipotent_backup',
      baseBackupPeriodMs: options.baseBackupPeriodMs ?? 86_400_000,
      sealIntervalMs: options.sealIntervalMs ?? 1000,
      tailIntervalMs: options.tailIntervalMs,
      maxHeldWalBytes: options.maxHeldWalBytes ?? 2 ** 30,
      pitrWindowMs: options.pitrWindowMs ?? null,
    },
  });
  const startCapture = () =>
    startContinuousCapture({
      dbUrl: captureUrl,
      settings,
      signer: () => signer,
      trustedKeys: () => [signer.publicKey],
      logger,
      clock: systemClock(),
      notifier: options.notifier,
      tickMs: 100,
      slotCheckMs: options.slotCheckMs ?? 500,
      pruneMs: options.pruneMs,
      retryMs: options.retryMs,
    });
  const catalog = () => readPitrCatalog(directory, [signer.publicKey]);
  const world: PitrWorld = {
    cluster,
    appUrl,
    directory,
    signer,
    logger,
    capture: startCapture(),
    async restartCapture() {
      await world.capture.stop();
      world.capture = startCapture();
    },
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
      await world.capture.stop();
      await client.end().catch(() => {});
      await cluster.stop();
    },
  };
  return world;
}

/**
 * The PITR tests' common start: a world, the test's own `prepare` (a restore world bound to it, roles...), a table
 * to write to, and a restorable window (the first base backup sealed; slow on a loaded machine).
 */
export async function startPitrWorldWithWindow(
  options: PitrWorldOptions & {
    /** The table and its columns; by default `docs (id serial PRIMARY KEY, body text)`. */
    table?: string;
    windowTimeoutMs?: number;
    prepare?: (world: PitrWorld) => Promise<void>;
  } = {},
): Promise<PitrWorld> {
  const world = await startPitrWorld(options);
  await options.prepare?.(world);
  await world.query(`CREATE TABLE ${options.table ?? 'docs (id serial PRIMARY KEY, body text)'}`);
  await waitForWindow(world, options.windowTimeoutMs ?? 110_000); // as each suite allowed before this preamble
  return world;
}

/**
 * Waits for the first restorable window; on a timeout the error carries the capture's log and the PITR folder's
 * files, so that a slow or stuck start can be understood from CI's output alone.
 */
export async function waitForWindow(world: PitrWorld, timeoutMs: number): Promise<PitrCatalog> {
  const started = Date.now();
  try {
    return await until(
      'a restorable window',
      async () => {
        const catalog = await world.catalog();
        return catalog.window ? catalog : undefined;
      },
      timeoutMs,
    );
  } catch (error) {
    const files = await listFiles(join(world.directory, 'pitr')).catch((e: unknown) => [String(e)]);
    throw new Error(
      `${(error as Error).message} after ${Math.round((Date.now() - started) / 1000)} s\ncapture log:\n${world.logger.lines.join('\n')}\nfiles:\n${files.join('\n')}`,
    );
  }
}

async function listFiles(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  return Promise.all(
    entries
      .filter((e) => e.isFile())
      .map(async (e) => {
        const path = join(e.parentPath ?? e.path, e.name);
        return `${path.slice(root.length + 1)} ${(await stat(path)).size}`;
      }),
  );
}

/** PITR_DEBUG_LIVE: every line of the capture's log also goes, with its time, to a file of this world in `folder`. */
function logLiveTo(folder: string, logger: ReturnType<typeof recordingLogger>): void {
  const file = `${folder}/${process.pid}-${Date.now()}.log`;
  for (const level of ['error', 'warn', 'info', 'debug'] as const) {
    const f = logger[level];
    logger[level] = (m: string) => {
      appendFileSync(file, `${new Date().toISOString()} ${level} ${m}\n`);
      f(m);
    };
  }
  appendFileSync(file, `${new Date().toISOString()} world ${expect.getState().testPath ?? ''}\n`);
}

/** Stops the world (its capture log printed first with PITR_DEBUG set). */
export async function closePitrWorld(world: PitrWorld | undefined): Promise<void> {
  if (process.env.PITR_DEBUG) console.log(world?.logger.lines.join('\n'));
  await world?.close();
}

export interface TimedCommit {
  n: number;
  sentAt: number;
  ackAt: number;
}

/** The rows of `writes` now, on a session of its own (a restore's swap ends the world's). */
export async function writtenRows(world: PitrWorld): Promise<number[]> {
  const client = new pg.Client({ connectionString: world.appUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: number }>('SELECT n FROM writes ORDER BY n');
    return rows.map((r) => r.n);
  } finally {
    await client.end();
  }
}

/** The writer: rows 1..count into `writes`, one commit every ~gapMs, each with when it was sent and acknowledged. */
export async function commitWrites(world: PitrWorld, count: number, gapMs = 30): Promise<TimedCommit[]> {
  const commits: TimedCommit[] = [];
  for (let n = 1; n <= count; n++) {
    const sentAt = Date.now();
    await world.query('INSERT INTO writes (n) VALUES ($1)', [n]);
    commits.push({ n, sentAt, ackAt: Date.now() });
    await new Promise((r) => setTimeout(r, gapMs));
  }
  return commits;
}

/** The pg_receivewal this test process started (the capture runs in it): its own child, found by parent pid. */
export async function receiverPid(): Promise<number | undefined> {
  const found = await promisify(execFile)('pgrep', ['-P', String(process.pid), '-x', 'pg_receivewal']).catch(
    () => ({ stdout: '' }),
  );
  const pids = found.stdout.split('\n').filter(Boolean).map(Number);
  return pids.length === 1 ? pids[0] : undefined;
}

/** Binds a real restore world's task to the PITR world's continuous protection (seal every second), as the server does. */
export function bindContinuous(
  real: RealRestoreWorld,
  world: PitrWorld,
  extra: { rehearse?: boolean } = {},
): void {
  real.settings = {
    ...real.settings,
    ...extra,
    continuous: {
      slot: 'bomnipotent_backup',
      baseBackupPeriodMs: 86_400_000,
      sealIntervalMs: 1000,
      maxHeldWalBytes: 2 ** 30,
      pitrWindowMs: null,
    },
  };
  real.pitr = { dbUrl: world.appUrl, logger: real.ctx.logger, clock: systemClock() };
}

/** A real restore world on the PITR world's database, bound to its continuous protection and migrated. */
export async function restoreWorldOn(
  world: PitrWorld,
  settings: Partial<
    Pick<RealRestoreWorld['settings'], 'offsite' | 'encryptionRecipients' | 'encryptionIdentityFile'>
  > = {},
): Promise<RealRestoreWorld> {
  const real = createRealContext({ url: world.appUrl, directory: world.directory });
  bindContinuous(real, world);
  real.settings = { ...real.settings, ...settings };
  await migrateToLatest(real);
  return real;
}

/**
 * The restore-to-a-point tests' start: a world signed by TEST_SIGNER (with `offsite`, its store), a real restore
 * world on it, the test's own `prepare`, the table `writes (n)` and a restorable window.
 */
export async function startPitrRestoreWorld(
  options: {
    offsite?: OffsiteSettings;
    prepare?: (world: PitrWorld) => Promise<void>;
    capture?: Pick<PitrWorldOptions, 'sealIntervalMs' | 'tailIntervalMs' | 'encryption'>;
  } = {},
): Promise<{ world: PitrWorld; real: RealRestoreWorld }> {
  const { offsite } = options;
  const encryption = options.capture?.encryption;
  let real: RealRestoreWorld | undefined;
  const world = await startPitrWorldWithWindow({
    ...options.capture,
    signer: TEST_SIGNER,
    offsite,
    table: 'writes (n int PRIMARY KEY)',
    prepare: async (started) => {
      real = await restoreWorldOn(started, {
        ...(offsite ? { offsite } : {}),
        ...(encryption
          ? {
              encryptionRecipients: encryption.recipients,
              encryptionIdentityFile: encryption.identityFile,
            }
          : {}),
      });
      await options.prepare?.(started);
    },
  });
  return { world, real: real! };
}
