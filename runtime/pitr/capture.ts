// Continuous protection (continuous = true): pg_receivewal streams the server's WAL through a replication slot into
// <directory>/pitr/incoming; every completed segment is sealed (zstd, age when configured), signed into the PITR
// chain and removed from incoming (the newest stays as where pg_receivewal resumes: resume-point.ts); every
// seal_interval the current segment is closed (pg_switch_wal) so that the restorable window keeps up; a base backup (pg_basebackup) is taken at start and every base_backup_period.
// Runs beside the logical backups and never stops them: a problem is logged and retried.
import type { BackupTaskSettings } from '../../handlers/backup/settings';
import type { Clock } from '../../handlers/ports/clock';
import type { Logger } from '../../handlers/ports/logger';
import type { ManifestSigner } from '../../handlers/ports/manifest-signer';
import type { Notifier } from '../../handlers/ports/notifier';
import { parsePostgresUrl, prepareToolEnvironment, type ToolEnvironment } from '../executor/pg-env';
import { findPgProgram, takeBaseBackup } from './base-backup';
import { createCaptureChain, type CaptureChain } from './capture-chain';
import { ensurePitrFolder, pitrFolder, type PitrFolder } from './folder';
import { checkServer, switchWal, warnUnboundedSlot, type ServerFacts } from './preflight';
import { startReceiver, type Receiver } from './receiver';
import { dropResumePoints } from './resume-point';
import { checkSameCluster } from './same-cluster';
import { createSegmentSealer, type SegmentSealer } from './sealer';
import { createSlotGuard, type SlotGuard } from './slot-guard';
import type { SlotStatus } from './slot';
import { runTails } from './tail';

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
  /** How often the slot's held-back WAL is checked against max_held_wal (default 250 ms). */
  slotCheckMs?: number;
  /** How often pitr_window's retention runs (default 10 min, and at start). */
  pruneMs?: number;
  /** How soon capture is tried again after it could not start (default 1 min; tests shorten it). */
  retryMs?: number;
}

export interface ContinuousCapture {
  /** The slot as last checked (null before the first check). */
  slot(): SlotStatus | null;
  stop(): Promise<void>;
}

const SLOT_CHECK_MS = 250;
const PRUNE_MS = 600_000;
const RETRY_MS = 60_000;

/** One running capture's parts, for its loop. */
interface Capture {
  options: CaptureOptions;
  facts: ServerFacts;
  folder: PitrFolder;
  tools: ToolEnvironment;
  chain: CaptureChain;
  sealer: SegmentSealer;
  guard: SlotGuard;
  signal: AbortSignal;
}

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));
/** The message and, when the error carries one, what to do about it. */
const withSuggestion = (error: unknown) => {
  const suggestion = (error as { suggestion?: string }).suggestion;
  return `${messageOf(error)}${suggestion ? ` ${suggestion}` : ''}`;
};

export function startContinuousCapture(options: CaptureOptions): ContinuousCapture {
  const stopping = new AbortController();
  let guard: SlotGuard | undefined;
  const running = keepTrying(options, stopping.signal, (g) => (guard = g));
  return {
    slot: () => guard?.status() ?? null,
    async stop() {
      stopping.abort();
      await running;
    },
  };
}

/**
 * Runs the capture; when it cannot start (the database server down when this one starts, the REPLICATION attribute
 * missing, ...) it says why, once per reason, and tries again every retryMs: fixed, capture starts without a restart.
 */
async function keepTrying(
  options: CaptureOptions,
  signal: AbortSignal,
  onGuard: (guard: SlotGuard) => void,
): Promise<void> {
  const retryMs = options.retryMs ?? RETRY_MS;
  let said: string | undefined;
  while (!signal.aborted) {
    try {
      await runCapture(options, signal, onGuard);
      return;
    } catch (error) {
      const line = `Continuous protection is off: ${withSuggestion(error)} Logical backups go on; capture is tried again every ${retryMs >= 1000 ? `${Math.round(retryMs / 1000)} s` : `${retryMs} ms`}.`;
      if (line !== said) options.logger.error(line);
      said = line;
    }
    await options.clock.sleep(retryMs, signal);
  }
}

async function runCapture(
  options: CaptureOptions,
  signal: AbortSignal,
  onGuard: (guard: SlotGuard) => void,
): Promise<void> {
  const { settings, logger, clock } = options;
  const continuous = settings.continuous!;
  const folder = pitrFolder(settings.directory);
  const facts = await checkServer(options.dbUrl);
  await ensurePitrFolder(folder);
  await checkSameCluster(settings.directory, facts.systemIdentifier);
  const chain = createCaptureChain(options);
  await chain.catchUp();
  const sealer = createSegmentSealer({
    settings,
    folder,
    clock,
    logger,
    trustedKeys: options.trustedKeys,
    append: (f) => chain.append(f),
  });
  const tools = await prepareToolEnvironment(parsePostgresUrl(options.dbUrl), process.env, facts.database);
  let receiver: Receiver | undefined;
  let loop: ReturnType<typeof captureLoop> | undefined;
  const guarding = new AbortController(); // the guard's watch ends with this run, also when it fails
  let watching: Promise<void> | undefined;
  let tailing: Promise<void> | undefined;
  try {
    const program = await findPgProgram('pg_receivewal', facts.major);
    const env = tools.env;
    receiver = startReceiver({
      program,
      slot: continuous.slot,
      directory: folder.incoming,
      env,
      logger,
      clock,
      signal,
    });
    const guard = createSlotGuard({
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
        await sealer.sealCompleted(facts);
        sealer.startAfresh();
        await dropResumePoints(folder.incoming);
        chain.needBase();
      },
    });
    onGuard(guard);
    watching = guard.watch(AbortSignal.any([signal, guarding.signal]));
    warnUnboundedSlot(facts, continuous.maxHeldWalBytes, logger);
    logger.info(
      `Continuous protection: streaming the WAL of '${facts.database}' through the replication slot ${continuous.slot} into ${folder.root}.`,
    );
    loop = captureLoop({ options, facts, folder, tools, chain, sealer, guard, signal });
    tailing = startTails(options, facts, chain, AbortSignal.any([signal, guarding.signal]));
    await loop.done;
    await receiver.running;
  } finally {
    guarding.abort();
    await watching;
    await tailing;
    await loop?.settled();
    await chain.settled();
    await tools.dispose();
  }
}

/** The signed tail every tail_interval (tail.ts), beside the loop: its wait for pg_receivewal never delays sealing. */
function startTails(options: CaptureOptions, facts: ServerFacts, chain: CaptureChain, signal: AbortSignal) {
  const { settings } = options;
  const intervalMs = settings.continuous!.tailIntervalMs;
  if (!intervalMs) return undefined;
  return runTails(
    {
      dbUrl: options.dbUrl,
      settings,
      folder: pitrFolder(settings.directory),
      facts,
      clock: options.clock,
      logger: options.logger,
      signer: options.signer,
      head: () => chain.head(),
      intervalMs,
    },
    signal,
  );
}

/** Every tick: the WAL switch when due, capture again after a slot drop (guard.watch reads the slot), sealing, the base backup when due, retention, off-site. */
function captureLoop(capture: Capture): { done: Promise<void>; settled(): Promise<void> } {
  const { options, facts, chain, sealer, guard, signal } = capture;
  const { logger, clock } = options;
  const continuous = options.settings.continuous!;
  const logged = (what: string) => (error: unknown) =>
    logger.error(`Continuous protection: ${what} failed: ${messageOf(error)}`);
  let baseRunning: Promise<void> | undefined;
  let lastSwitch = clock.elapsedMs();
  let prunedAt = -Infinity;
  // A base backup ends with a WAL switch of PostgreSQL's (pg_backup_stop), which notes no covered instant, and on a
  // quiet database a later switch of ours closes nothing: its window would wait for the next write. So right after a
  // base backup the capture makes a marked switch (one WAL record first): a segment that covers an instant after the
  // base's end is sealed, and the new window exists at once.
  let markNext = false;

  const switchWhenDue = async () => {
    if (!markNext && clock.elapsedMs() - lastSwitch < continuous.sealIntervalMs) return;
    const mark = markNext;
    markNext = false;
    lastSwitch = clock.elapsedMs();
    const before = clock.now().toISOString();
    const segment = await guard
      .whileJumping(() => switchWal(options.dbUrl, mark))
      .catch((error: unknown) => {
        logger.warn(`Continuous protection: the WAL switch failed: ${withSuggestion(error)}`);
        markNext ||= mark;
        return null;
      });
    if (segment) sealer.noteSwitch(segment, before);
  };

  // A base backup only while pg_receivewal streams through the slot and the slot has a position: the slot then keeps
  // the WAL from the base's start until it is streamed. Taken before the slot exists (at start, or after the guard
  // dropped it while pg_receivewal waited to start again), its first segments could be gone before anyone streamed
  // them, and that base would never begin a window. And a new slot gets its position only from pg_receivewal's first
  // confirmation, set back to the start of the segment it streams from: a base backup's checkpoint that had counted
  // the WAL to keep before that confirmation then invalidates the slot at once (wal_status lost).
  const baseWhenDue = async () => {
    const slot = guard.status();
    if (baseRunning || slot?.active !== true || slot.restartLsn === null || !(await chain.baseDue())) return;
    const base = () =>
      takeBaseBackup({
        facts,
        tools: capture.tools,
        settings: options.settings,
        folder: capture.folder,
        append: (f) => chain.append(f),
        trustedKeys: options.trustedKeys,
        clock,
        logger,
        signal,
      });
    baseRunning = guard
      .whileJumping(base)
      .then(() => {
        markNext = true;
      })
      .catch((error: unknown) => logger.error(`Continuous protection: ${messageOf(error)}; retried later.`))
      .finally(() => (baseRunning = undefined));
  };

  const retainWhenDue = async () => {
    if (continuous.pitrWindowMs === null || clock.elapsedMs() - prunedAt < (options.pruneMs ?? PRUNE_MS))
      return;
    prunedAt = clock.elapsedMs();
    await chain
      .retain(continuous.pitrWindowMs)
      .catch((error: unknown) =>
        logger.error(`Continuous protection: pitr_window's retention failed: ${String(error)}`),
      );
  };

  const run = async () => {
    while (!signal.aborted) {
      await switchWhenDue();
      await guard.check().catch(logged('starting capture again after the replication slot was dropped'));
      const sealed = await sealer.sealCompleted(facts).catch(logged('sealing a WAL segment'));
      if (sealed?.gap) chain.needBase();
      await baseWhenDue().catch(logged('planning a base backup'));
      await retainWhenDue();
      chain.copyOffsite();
      await clock.sleep(options.tickMs ?? 1000, signal);
    }
  };
  return { done: run(), settled: async () => await baseRunning };
}
