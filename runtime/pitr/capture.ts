// Continuous protection (continuous = true): pg_receivewal streams the server's WAL through a replication slot into
// <directory>/pitr/incoming; every completed segment is sealed (zstd, age when configured), signed into the PITR
// chain and removed from incoming; every seal_interval the current segment is closed (pg_switch_wal) so that the
// restorable window keeps up; a base backup (pg_basebackup) is taken at start and every base_backup_period.
// Runs beside the logical backups and never stops them: a problem is logged and retried.
import { createReadStream } from 'node:fs';
import { access, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { BackupTaskSettings } from '../../handlers/backup/settings';
import { manifestDigest } from '../../handlers/backup/manifest';
import { nameStamp } from '../../handlers/backup/naming';
import { SEGMENT_NAME } from '../../handlers/pitr/manifest';
import type { Clock } from '../../handlers/ports/clock';
import type { Logger } from '../../handlers/ports/logger';
import type { ManifestSigner } from '../../handlers/ports/manifest-signer';
import type { Notifier } from '../../handlers/ports/notifier';
import { listCatalog } from '../executor/catalog';
import { parsePostgresUrl, prepareToolEnvironment, type ToolEnvironment } from '../executor/pg-env';
import { runTool, usefulStderrLine } from '../executor/process';
import { findTool, toolSearchPath } from '../executor/tools';
import { createChainWriter } from './chain-writer';
import { ensurePitrFolder, MANIFEST_SUFFIX, pitrFolder, readPitrCatalog, sealInto } from './folder';
import { lsnSegment } from './lsn';
import { prunePitr } from './prune';
import { startReceiver } from './receiver';
import { createSlotGuard, type SlotGuard } from './slot-guard';
import type { SlotStatus } from './slot';
import { checkServer, switchWal, type ServerFacts } from './preflight';

export interface CaptureOptions {
  dbUrl: string;
  settings: BackupTaskSettings;
  signer: () => ManifestSigner;
  trustedKeys: () => readonly string[];
  logger: Logger;
  clock: Clock;
  notifier?: Notifier | undefined;
  /** How often the sealer looks for completed segments (tests shorten it). */
  tickMs?: number;
  /** How often the slot's held-back WAL is checked against max_held_wal (default 5 s; tests shorten it). */
  slotCheckMs?: number;
  /** How often pitr_window's retention runs (default 10 min, and at start). */
  pruneMs?: number;
}

export interface ContinuousCapture {
  /** The slot as last checked (null before the first check). */
  slot(): SlotStatus | null;
  stop(): Promise<void>;
}

const SLOT_CHECK_MS = 5_000;
const PRUNE_MS = 600_000;

export async function findPgProgram(name: string, major: number): Promise<string> {
  const found = await findTool(name, await toolSearchPath({ pathEnv: process.env.PATH }, major));
  if (!found) throw new Error(`${name} was not found (install postgresql-client-${major}).`);
  return found;
}

export function startContinuousCapture(options: CaptureOptions): ContinuousCapture {
  const { settings, logger, clock } = options;
  const continuous = settings.continuous!;
  const folder = pitrFolder(settings.directory);
  const stopping = new AbortController();
  const coversUntil = new Map<string, string>(); // segment -> the instant before the switch that closed it
  let guard: SlotGuard | undefined;
  let baseNow = false; // the slot was dropped: the WAL since the last base is incomplete
  let baseRunning: Promise<void> | undefined;
  const chain = createChainWriter({
    directory: settings.directory,
    folder,
    signer: options.signer,
    trustedKeys: options.trustedKeys,
  });

  const baseFields = { compression: 'zstd' as const, encryption: encryptionOf(settings) };

  const sealCompleted = async (facts: ServerFacts) => {
    const names = (await readdir(folder.incoming)).filter((n) => SEGMENT_NAME.test(n)).sort();
    for (const segment of names) {
      const file = `wal/${segment}.zst${settings.encryptionRecipients.length > 0 ? '.age' : ''}`;
      const source = join(folder.incoming, segment);
      const sealed = await access(join(folder.root, file + MANIFEST_SUFFIX)).then(
        () => true,
        () => false,
      );
      if (!sealed) {
        const { sizeBytes, sha256 } = await sealInto(
          folder.root,
          file,
          createReadStream(source),
          settings.encryptionRecipients,
        );
        await chain.append({
          kind: 'wal',
          file,
          sizeBytes,
          sha256,
          ...baseFields,
          systemIdentifier: facts.systemIdentifier,
          database: facts.database,
          serverMajor: facts.major,
          segment,
          endSegment: null,
          coversUntil: coversUntil.get(segment) ?? null,
          createdAt: clock.now().toISOString(),
          logicalHeadSha256: null,
        });
      }
      coversUntil.delete(segment);
      await rm(source, { force: true });
    }
  };

  const takeBase = async (facts: ServerFacts, tools: ToolEnvironment) => {
    const basebackup = await findPgProgram('pg_basebackup', facts.major);
    const startedAt = clock.now();
    const file = `base/${nameStamp(startedAt)}.tar.zst${settings.encryptionRecipients.length > 0 ? '.age' : ''}`;
    let sealed: { sizeBytes: number; sha256: string } | undefined;
    const run = await runTool({
      path: basebackup,
      args: ['-D', '-', '-Ft', '-X', 'fetch', '--checkpoint=fast', '--verbose', '--no-password'],
      env: tools.env,
      logger,
      signal: stopping.signal,
      consumeStdout: async (stdout) => {
        sealed = await sealInto(folder.root, file, stdout, settings.encryptionRecipients);
      },
    });
    const start = /write-ahead log start point: ([0-9A-F]+\/[0-9A-F]+) on timeline (\d+)/.exec(run.stderr);
    const end = /write-ahead log end point: ([0-9A-F]+\/[0-9A-F]+)/.exec(run.stderr);
    if (run.exitCode !== 0 || !sealed || !start || !end) {
      await rm(join(folder.root, file), { force: true });
      throw new Error(`pg_basebackup failed: ${usefulStderrLine(run.stderr) ?? 'no message'}`);
    }
    const timeline = Number(start[2]);
    const logical = await logicalHead(settings.directory, options.trustedKeys());
    await chain.append({
      kind: 'base',
      file,
      ...sealed,
      ...baseFields,
      systemIdentifier: facts.systemIdentifier,
      database: facts.database,
      serverMajor: facts.major,
      segment: lsnSegment(start[1]!, timeline),
      endSegment: lsnSegment(end[1]!, timeline),
      coversUntil: clock.now().toISOString(),
      createdAt: startedAt.toISOString(),
      logicalHeadSha256: logical,
    });
    logger.info(`Continuous protection: base backup ${file} taken (${sealed.sizeBytes} bytes).`);
  };

  const baseDue = async () => {
    if (baseNow) return true;
    const catalog = await readPitrCatalog(settings.directory, options.trustedKeys());
    const newest = catalog.bases.at(-1);
    if (!newest) return true;
    return clock.now().getTime() - Date.parse(newest.createdAt) >= continuous.baseBackupPeriodMs;
  };

  const loop = async () => {
    const facts = await checkServer(options.dbUrl);
    await ensurePitrFolder(folder);
    const tools = await prepareToolEnvironment(parsePostgresUrl(options.dbUrl), process.env, facts.database);
    try {
      const receiver = startReceiver({
        program: await findPgProgram('pg_receivewal', facts.major),
        slot: continuous.slot,
        directory: folder.incoming,
        env: tools.env,
        logger,
        clock,
        signal: stopping.signal,
      });
      guard = createSlotGuard({
        dbUrl: options.dbUrl,
        slot: continuous.slot,
        capBytes: continuous.maxHeldWalBytes,
        checkMs: options.slotCheckMs ?? SLOT_CHECK_MS,
        database: facts.database,
        receiver,
        clock,
        logger,
        notifier: options.notifier,
        restart: async () => {
          await sealCompleted(facts);
          await dropPartial(folder.incoming);
          baseNow = true;
        },
      });
      logger.info(
        `Continuous protection: streaming the WAL of '${facts.database}' through the replication slot ${continuous.slot} into ${folder.root}.`,
      );
      let lastSwitch = clock.elapsedMs();
      let prunedAt = -Infinity;
      while (!stopping.signal.aborted) {
        if (clock.elapsedMs() - lastSwitch >= continuous.sealIntervalMs) {
          lastSwitch = clock.elapsedMs();
          const before = clock.now().toISOString();
          const segment = await switchWal(options.dbUrl).catch((error: unknown) => {
            logger.warn(
              `Continuous protection: the WAL switch failed: ${error instanceof Error ? error.message : String(error)}`,
            );
            return null;
          });
          if (segment) coversUntil.set(segment, before);
        }
        await guard
          .check()
          .catch((error: unknown) =>
            logger.error(
              `Continuous protection: checking the replication slot failed: ${error instanceof Error ? error.message : String(error)}`,
            ),
          );
        await sealCompleted(facts).catch((error: unknown) =>
          logger.error(
            `Continuous protection: sealing a WAL segment failed: ${error instanceof Error ? error.message : String(error)}`,
          ),
        );
        if (!baseRunning && (await baseDue())) {
          baseNow = false;
          baseRunning = takeBase(facts, tools)
            .catch((error: unknown) =>
              logger.error(
                `Continuous protection: ${error instanceof Error ? error.message : String(error)}; retried later.`,
              ),
            )
            .finally(() => (baseRunning = undefined));
        }
        if (
          continuous.pitrWindowMs !== null &&
          clock.elapsedMs() - prunedAt >= (options.pruneMs ?? PRUNE_MS)
        ) {
          prunedAt = clock.elapsedMs();
          await prunePitr({
            directory: settings.directory,
            trustedKeys: options.trustedKeys(),
            windowMs: continuous.pitrWindowMs,
            now: clock.now(),
            logger,
          }).catch((error: unknown) =>
            logger.error(`Continuous protection: pitr_window's retention failed: ${String(error)}`),
          );
        }
        await clock.sleep(options.tickMs ?? 1000, stopping.signal);
      }
      await receiver.running;
    } finally {
      await baseRunning;
      await tools.dispose();
    }
  };

  const running = loop().catch((error: unknown) => {
    const message = error instanceof Error ? error.message : String(error);
    const suggestion = (error as { suggestion?: string }).suggestion;
    logger.error(
      `Continuous protection is off: ${message}${suggestion ? ` ${suggestion}` : ''} Logical backups go on.`,
    );
  });

  return {
    slot: () => guard?.status() ?? null,
    async stop() {
      stopping.abort();
      await running;
    },
  };
}

/** The segment pg_receivewal was writing when the slot was dropped: the server no longer keeps its start. */
async function dropPartial(incoming: string): Promise<void> {
  for (const name of await readdir(incoming))
    if (name.endsWith('.partial')) await rm(join(incoming, name), { force: true });
}

function encryptionOf(settings: BackupTaskSettings) {
  return settings.encryptionRecipients.length > 0
    ? { scheme: 'age' as const, recipients: settings.encryptionRecipients }
    : null;
}

/** The digest of the newest trusted logical backup's manifest: the PITR chain's anchor in the logical one. */
async function logicalHead(directory: string, trustedKeys: readonly string[]): Promise<string | null> {
  const entries = await listCatalog(directory, { trustedKeys: [...trustedKeys] }).catch(() => []);
  let newest = null;
  for (const e of entries)
    if (e.state === 'trusted' && e.manifest && (!newest || e.manifest.sequence > newest.sequence))
      newest = e.manifest;
  return newest ? manifestDigest(newest) : null;
}
