// Continuous protection (continuous = true): pg_receivewal streams the server's WAL through a replication slot into
// <directory>/pitr/incoming; every completed segment is sealed (zstd, age when configured), signed into the PITR
// chain and removed from incoming; every seal_interval the current segment is closed (pg_switch_wal) so that the
// restorable window keeps up; a base backup (pg_basebackup) is taken at start and every base_backup_period.
// Runs beside the logical backups and never stops them: a problem is logged and retried.
import { createReadStream } from 'node:fs';
import { access, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { BackupTaskSettings } from '../../handlers/backup/settings';
import { SEGMENT_NAME, type PitrManifest } from '../../handlers/pitr/manifest';
import type { Clock } from '../../handlers/ports/clock';
import type { Logger } from '../../handlers/ports/logger';
import type { ManifestSigner } from '../../handlers/ports/manifest-signer';
import type { Notifier } from '../../handlers/ports/notifier';
import { parsePostgresUrl, prepareToolEnvironment, type ToolEnvironment } from '../executor/pg-env';
import { encryptionOf, findPgProgram, takeBaseBackup } from './base-backup';
import { createChainWriter, type ManifestFields } from './chain-writer';
import { ensurePitrFolder, MANIFEST_SUFFIX, pitrFolder, readPitrCatalog, sealInto } from './folder';
import { createPitrOffsite } from './offsite';
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
  const offsite = settings.offsite
    ? createPitrOffsite({ offsite: settings.offsite, directory: settings.directory, clock, logger })
    : undefined;
  const sealedSince: PitrManifest[] = []; // not handed to the off-site copy yet
  let copying: Promise<void> | undefined;
  const append = async (fields: ManifestFields) => {
    const manifest = await chain.append(fields);
    if (offsite) sealedSince.push(manifest);
    return manifest;
  };
  const catalogChain = async () => {
    const catalog = await readPitrCatalog(settings.directory, options.trustedKeys());
    return [...catalog.bases, ...catalog.segments];
  };
  const retain = async (windowMs: number) => {
    const now = clock.now();
    await prunePitr({
      directory: settings.directory,
      trustedKeys: options.trustedKeys(),
      windowMs,
      now,
      logger,
    });
    await offsite?.prune(await catalogChain());
  };

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
        await append({
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

  const takeBase = (facts: ServerFacts, tools: ToolEnvironment) =>
    takeBaseBackup({
      facts,
      tools,
      settings,
      folder,
      append,
      trustedKeys: options.trustedKeys,
      clock,
      logger,
      signal: stopping.signal,
    });

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
    if (offsite) sealedSince.push(...(await catalogChain())); // what an earlier run did not copy yet
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
          await retain(continuous.pitrWindowMs).catch((error: unknown) =>
            logger.error(`Continuous protection: pitr_window's retention failed: ${String(error)}`),
          );
        }
        if (offsite && !copying)
          copying = offsite.copy(sealedSince.splice(0)).finally(() => (copying = undefined));
        await clock.sleep(options.tickMs ?? 1000, stopping.signal);
      }
      await receiver.running;
    } finally {
      await baseRunning;
      await copying;
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
