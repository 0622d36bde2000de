// The signed tail (handlers/pitr/tail-manifest.ts): every tail_interval, while WAL is written, the segment pg_receivewal
// is writing is stored up to the server's flush position, compressed and encrypted like a sealed segment, and signed
// as a tail bound to the chain's head, so that a restore reaches a few seconds back instead of seal_interval.
// What a tail covers: t0 is taken first, then the server's flush position L. Every commit acknowledged before t0 was
// flushed at or before L, and the tail is written only once pg_receivewal has flushed past L (the slot's restart_lsn,
// which a physical slot advances to the flush position pg_receivewal --synchronous confirms), so it holds them all.
// One tail is kept: the new one is written under a new name, then the older ones go; tails of a segment that is
// sealed since, or after a new window began, are removed too. Never part of the chain: retention and off-site skip it.
import { createReadStream } from 'node:fs';
import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import type { BackupTaskSettings } from '../../handlers/backup/settings';
import { pitrDigest, type PitrManifest } from '../../handlers/pitr/manifest';
import { PITR_TAIL_FORMAT, type PitrTail } from '../../handlers/pitr/tail-manifest';
import { segmentName, segmentNumber } from '../../handlers/pitr/window';
import type { Clock } from '../../handlers/ports/clock';
import type { Logger } from '../../handlers/ports/logger';
import type { ManifestSigner } from '../../handlers/ports/manifest-signer';
import { fsyncDirectory } from '../executor/dump-file';
import { storedFacts } from './base-backup';
import { MANIFEST_SUFFIX, sealInto, writeManifestFile, type PitrFolder } from './folder';
import { SEGMENT_BYTES } from './partial';
import type { ServerFacts } from './preflight';

export interface TailOptions {
  dbUrl: string;
  settings: BackupTaskSettings;
  folder: PitrFolder;
  facts: ServerFacts;
  clock: Clock;
  logger: Logger;
  signer: () => ManifestSigner;
  /** The chain's head (the newest sealed manifest), as the chain writer knows it. */
  head: () => Promise<PitrManifest | null>;
  intervalMs: number;
  /** How long a round waits for pg_receivewal to flush past the server's flush position (default 3 s). */
  flushWaitMs?: number;
}

const FLUSH_WAIT_MS = 3000;
const POLL_MS = 20;

/** "16/B374D848" as a byte position. */
export function lsnBytes(lsn: string): bigint {
  const [high, low] = lsn.split('/');
  return (BigInt(`0x${high}`) << 32n) + BigInt(`0x${low}`);
}

/** Writes a tail every intervalMs until `signal` aborts; a failed round is logged (once per reason) and skipped. */
export async function runTails(options: TailOptions, signal: AbortSignal): Promise<void> {
  const writer = createTailWriter(options);
  let said: string | undefined;
  try {
    while (!signal.aborted) {
      // Start to start: the recovery point lags by at most intervalMs plus one round, not plus every round's time.
      const started = options.clock.elapsedMs();
      await writer.take(signal).then(
        () => (said = undefined),
        (error: unknown) => {
          const line = `Continuous protection: the signed tail was not written: ${error instanceof Error ? error.message : String(error)}; the recovery point lags by up to seal_interval until it is.`;
          if (line !== said) options.logger.warn(line);
          said = line;
        },
      );
      await options.clock.sleep(
        Math.max(0, options.intervalMs - (options.clock.elapsedMs() - started)),
        signal,
      );
    }
  } finally {
    await writer.close();
  }
}

/** The server's flush position and the segment that holds it (pg_walfile_name: the segment a position ends in). */
async function flushPosition(client: pg.Client): Promise<{ lsn: string; segment: string }> {
  const { rows } = await client.query<{ lsn: string; segment: string }>(
    'SELECT l::text AS lsn, pg_walfile_name(l) AS segment FROM pg_current_wal_flush_lsn() l',
  );
  return rows[0]!;
}

/** Whether pg_receivewal flushed past `lsn` within `waitMs` (the slot's restart_lsn is what it confirmed). */
async function flushedPast(
  client: pg.Client,
  slot: string,
  lsn: string,
  options: TailOptions,
  signal: AbortSignal,
) {
  const deadline = options.clock.elapsedMs() + (options.flushWaitMs ?? FLUSH_WAIT_MS);
  while (!signal.aborted) {
    const { rows } = await client.query<{ done: boolean | null }>(
      'SELECT restart_lsn >= $1::pg_lsn AS done FROM pg_replication_slots WHERE slot_name = $2',
      [lsn, slot],
    );
    if (rows[0]?.done === true) return true;
    if (options.clock.elapsedMs() >= deadline) return false;
    await options.clock.sleep(POLL_MS, signal);
  }
  return false;
}

function createTailWriter(options: TailOptions) {
  const { folder } = options;
  let client: pg.Client | undefined;
  let written: string | undefined; // the LSN of the last tail this writer wrote
  const connect = async () => {
    if (client) return client;
    const fresh = new pg.Client({ connectionString: options.dbUrl });
    fresh.on('error', () => {});
    await fresh.connect();
    return (client = fresh);
  };
  const close = async () => {
    const current = client;
    client = undefined;
    await current?.end().catch(() => {});
  };
  return {
    close,
    async take(signal: AbortSignal): Promise<void> {
      try {
        const db = await connect();
        const t0 = options.clock.now().toISOString(); // first: every commit acknowledged before it is flushed by L
        const at = await flushPosition(db);
        const head = await options.head();
        await removeTails(folder, (name) => staleFor(name, head));
        if (!head || head.kind !== 'wal' || at.lsn === written) return; // no segment to continue, or no new WAL
        const after = segmentNumber(head.segment);
        if (at.segment !== segmentName(after.timeline, after.number + 1)) return; // the head's successor not sealed yet
        if (!(await flushedPast(db, options.settings.continuous!.slot, at.lsn, options, signal))) {
          if (signal.aborted) return;
          throw new Error(
            `pg_receivewal did not confirm the server's flush position within ${Math.round((options.flushWaitMs ?? FLUSH_WAIT_MS) / 1000)} s (the replication slot's restart_lsn stayed behind it)`,
          );
        }
        const tail = await storeTail(options, head, at, t0);
        if (!tail) return;
        written = at.lsn;
        const keep = tail.file.slice('tail/'.length);
        await removeTails(folder, (name) => name !== keep && name !== keep + MANIFEST_SUFFIX);
      } catch (error) {
        await close(); // connect again next round
        throw error;
      }
    },
  };
}

/** A tail file is stale once its segment is not the one after the head (sealed since, or a new window began). */
function staleFor(name: string, head: PitrManifest | null): boolean {
  if (!head || head.kind !== 'wal') return true;
  const tail = segmentNumber(name.slice(0, 24));
  const last = segmentNumber(head.segment);
  return tail.timeline !== last.timeline || tail.number !== last.number + 1;
}

/** Stores the .partial of `at.segment` up to `at.lsn` and signs it; null when the segment is not being written. */
async function storeTail(
  options: TailOptions,
  head: PitrManifest,
  at: { lsn: string; segment: string },
  coversUntil: string,
): Promise<PitrTail | null> {
  const { folder, settings, facts } = options;
  const partial = join(folder.incoming, `${at.segment}.partial`);
  if ((await stat(partial).catch(() => null))?.size !== SEGMENT_BYTES) return null;
  const start = BigInt(segmentNumber(at.segment).number) * BigInt(SEGMENT_BYTES);
  const walBytes = Number(lsnBytes(at.lsn) - start);
  if (walBytes <= 0 || walBytes > SEGMENT_BYTES) return null;
  const hex = walBytes.toString(16).toUpperCase().padStart(8, '0');
  const file = `tail/${at.segment}-${hex}.zst${settings.encryptionRecipients.length > 0 ? '.age' : ''}`;
  const source = createReadStream(partial, { start: 0, end: walBytes - 1 });
  const { sizeBytes, sha256 } = await sealInto(folder.root, file, source, settings.encryptionRecipients);
  const tail: PitrTail = {
    format: PITR_TAIL_FORMAT,
    kind: 'tail',
    file,
    sizeBytes,
    sha256,
    ...storedFacts(settings, facts),
    segment: at.segment,
    walBytes,
    lsn: at.lsn.toUpperCase(),
    coversUntil,
    createdAt: options.clock.now().toISOString(),
    previousManifestSha256: pitrDigest(head),
    previousSequence: head.sequence,
  };
  const signer = options.signer();
  if (!signer.signPitrTail) throw new Error('the backup-signing key cannot sign PITR tails here');
  await writeManifestFile(folder.root, file, await signer.signPitrTail(tail));
  return tail;
}

/** Removes the tail files `remove` names (by name in tail/), each manifest before its data file. */
async function removeTails(folder: PitrFolder, remove: (name: string) => boolean): Promise<void> {
  const names = await readdir(folder.tail).catch(() => [] as string[]);
  const manifestFirst = (name: string) => (name.endsWith(MANIFEST_SUFFIX) ? 0 : 1);
  const doomed = names.filter(remove).sort((a, b) => manifestFirst(a) - manifestFirst(b));
  for (const name of doomed) await rm(join(folder.tail, name), { force: true });
  if (doomed.length > 0) await fsyncDirectory(folder.tail);
}
