// Continuous protection off-site: every sealed base backup and WAL segment, with its signed manifest, goes to the
// task's off-site store under `<prefix>pitr/base/` and `<prefix>pitr/wal/`, in chain order, soon after it is sealed
// (the segments' recovery point off-site). The same S3 store code as the logical backups: data first, the manifest
// last as the commit marker, each object written once and confirmed; retention removes there what is older than here.
// Never into a store that holds another cluster's WAL (same-cluster.ts).
import { join } from 'node:path';
import { AppError } from '../../handlers/errors';
import type { OffsiteSettings } from '../../handlers/offsite/model';
import type { PitrManifest } from '../../handlers/pitr/manifest';
import type { Clock } from '../../handlers/ports/clock';
import type { Logger } from '../../handlers/ports/logger';
import type { OffsiteStore } from '../../handlers/ports/offsite-store';
import { manifestNaming } from '../offsite/naming';
import { createLazyS3OffsiteStore } from '../offsite/s3-store';
import { MANIFEST_SUFFIX, pitrFolder } from './folder';
import { clusterOf, listStoresOfCluster } from './same-cluster';

const RETRY_AFTER_MS = 30_000;
const FILE = /^[0-9A-Za-z._-]{1,200}$/;

export interface PitrOffsite {
  readonly location: string;
  /** Queues sealed files (oldest first) and copies what is queued; a failure is logged and retried later. */
  copy(manifests: readonly PitrManifest[]): Promise<void>;
  /**
   * pitr_window in the store: removes the objects older than the oldest file kept here (`kept`: the local chain after
   * retention), base backups and segments apart; a locked object stays until its lock ends.
   */
  prune(kept: readonly PitrManifest[]): Promise<void>;
}

export interface PitrStoreOptions {
  offsite: OffsiteSettings;
  directory: string;
  clock: Clock;
  /** Tests: a store of their own making. */
  storeFor?: (sub: 'base' | 'wal', settings: OffsiteSettings, directory: string) => OffsiteStore;
}

/** The two stores of continuous protection (`<prefix>pitr/base/`, `<prefix>pitr/wal/`), bound to the local folders. */
export function pitrStores(options: PitrStoreOptions): {
  stores: Record<'base' | 'wal', OffsiteStore>;
  location: string;
} {
  const folder = pitrFolder(options.directory);
  const naming = manifestNaming(
    (name) => FILE.test(name) && !name.endsWith(MANIFEST_SUFFIX),
    MANIFEST_SUFFIX,
  );
  const make = (sub: 'base' | 'wal') => {
    const settings = { ...options.offsite, prefix: `${options.offsite.prefix}pitr/${sub}/` };
    const directory = join(folder.root, sub);
    return options.storeFor
      ? options.storeFor(sub, settings, directory)
      : createLazyS3OffsiteStore({ settings, naming, directory, now: () => options.clock.now() });
  };
  const stores = { base: make('base'), wal: make('wal') };
  return { stores, location: stores.wal.location.replace(/wal\/$/, '') };
}

export function createPitrOffsite(options: PitrStoreOptions & { logger: Logger }): PitrOffsite {
  const { clock, logger } = options;
  const { stores, location } = pitrStores(options);
  const queue = new Map<string, PitrManifest>(); // file -> manifest, in the order sealed
  let present: Set<string> | undefined; // files committed in the store (listed once, then kept up to date)
  let checked: string | null | undefined; // the cluster the stores last held no other's WAL than (undefined: not checked)
  let retryAt = -Infinity;
  let failing = false;

  const split = (file: string) => {
    const [sub, name] = file.split('/') as ['base' | 'wal', string];
    return { store: stores[sub], name };
  };

  return {
    location,
    async copy(manifests) {
      for (const m of manifests) if (!present?.has(m.file)) queue.set(m.file, m);
      if (queue.size === 0 || clock.elapsedMs() < retryAt) return;
      try {
        const pending = [...queue.values()].sort((a, b) => a.sequence - b.sequence);
        if (!present) {
          const ours = clusterOf(pending);
          present = await listStoresOfCluster(stores, location, ours); // one listing: the files and the check
          checked = ours;
        }
        for (const manifest of pending) {
          if (!present.has(manifest.file)) {
            const { store, name } = split(manifest.file);
            await store.upload({ file: name, manifestFile: name + MANIFEST_SUFFIX, sha256: manifest.sha256 });
            present.add(manifest.file);
            const line = `Continuous protection: copied pitr/${manifest.file} to ${location}.`;
            if (manifest.kind === 'base') logger.info(line);
            else logger.debug(line);
          }
          queue.delete(manifest.file);
        }
        if (failing) logger.info(`Continuous protection: copies to ${location} work again.`);
        failing = false;
      } catch (error) {
        present = undefined; // listed (and checked) again on the next attempt
        checked = undefined;
        retryAt = clock.elapsedMs() + RETRY_AFTER_MS;
        if (!failing)
          logger.error(
            `Continuous protection: copying sealed WAL and base backups to ${location} failed (${error instanceof Error ? error.message : String(error)}); the local files are kept and the copy is retried every ${RETRY_AFTER_MS / 1000} s.${error instanceof AppError && error.suggestion ? ` ${error.suggestion}` : ''}`,
          );
        failing = true;
      }
    },
    async prune(kept) {
      const ours = clusterOf(kept);
      if (ours !== null && ours !== checked) {
        const refused = await listStoresOfCluster(stores, location, ours).then(
          () => false,
          () => true, // another cluster's store (said by the copy), or unreachable: nothing removed now
        );
        if (refused) return;
        checked = ours; // not listed again for that on every run
      }
      for (const sub of ['base', 'wal'] as const)
        for (const removed of await pruneStore(stores[sub], sub, kept, logger)) present?.delete(removed);
    },
  };
}

/** Removes the objects of one sub-store older than the oldest local file kept there; returns what went. */
async function pruneStore(
  store: OffsiteStore,
  sub: 'base' | 'wal',
  kept: readonly PitrManifest[],
  logger: Logger,
): Promise<string[]> {
  const names = kept.filter((m) => m.file.startsWith(`${sub}/`)).map((m) => m.file.slice(sub.length + 1));
  if (names.length === 0) return [];
  const oldest = names.sort()[0]!;
  const removed: string[] = [];
  try {
    for (const backup of (await store.list()).backups)
      if (backup.file < oldest && (await store.remove(backup)) === 'removed')
        removed.push(`${sub}/${backup.file}`);
  } catch (error) {
    logger.warn(
      `Continuous protection: pitr_window's retention in ${store.location} failed: ${error instanceof Error ? error.message : String(error)}; it tries again on its next run.`,
    );
  }
  return removed;
}
