// What continuous protection appends to and keeps: the signed PITR chain (one writer), the off-site copy of what was
// sealed (when the task has an off-site store), pitr_window's retention here and there, and the base backup schedule.
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import type { BackupTaskSettings } from '../../handlers/backup/settings';
import type { PitrManifest } from '../../handlers/pitr/manifest';
import type { Clock } from '../../handlers/ports/clock';
import type { Logger } from '../../handlers/ports/logger';
import type { ManifestSigner } from '../../handlers/ports/manifest-signer';
import { createChainWriter, type ManifestFields } from './chain-writer';
import { MANIFEST_SUFFIX, pitrFolder, readPitrCatalog } from './folder';
import { createPitrOffsite } from './offsite';
import { prunePitr } from './prune';

export interface CaptureChain {
  append(fields: ManifestFields): Promise<PitrManifest>;
  /** The chain's head (the newest sealed manifest). */
  head(): Promise<PitrManifest | null>;
  /** Queues for the off-site copy what an earlier run sealed and did not copy yet (every file: the store skips). */
  catchUp(): Promise<void>;
  /** Starts copying what was sealed since the last call, unless a copy is still under way. */
  copyOffsite(): void;
  /** pitr_window here and in the off-site store. */
  retain(windowMs: number): Promise<void>;
  /** Whether a base backup is due (the caller then starts one): none yet, the newest older than base_backup_period, or one asked for; the newest is read once, then kept (no catalog read per tick). */
  baseDue(): Promise<boolean>;
  /** Asks for a base backup at the next tick (the WAL since the last one is incomplete). */
  needBase(): void;
  /** Waits for the copy under way. */
  settled(): Promise<void>;
}

export function createCaptureChain(options: {
  settings: BackupTaskSettings;
  signer: () => ManifestSigner;
  trustedKeys: () => readonly string[];
  logger: Logger;
  clock: Clock;
}): CaptureChain {
  const { settings, clock, logger } = options;
  const chain = createChainWriter({
    directory: settings.directory,
    folder: pitrFolder(settings.directory),
    signer: options.signer,
    trustedKeys: options.trustedKeys,
    logger,
  });
  const offsite = settings.offsite
    ? createPitrOffsite({ offsite: settings.offsite, directory: settings.directory, clock, logger })
    : undefined;
  const sealedSince: PitrManifest[] = []; // not handed to the off-site copy yet
  let copying: Promise<void> | undefined;
  let baseNow = false;
  // The newest base backup (undefined: not read yet, null: none): read once, then kept as this capture appends bases,
  // so that the tick does not read and verify the whole catalog (thousands of manifests a day) to ask for it.
  let newestBase: PitrManifest | null | undefined;
  const present = (manifest: PitrManifest) =>
    access(join(pitrFolder(settings.directory).root, manifest.file + MANIFEST_SUFFIX)).then(
      () => true,
      () => false,
    );
  const catalogChain = async () => {
    const catalog = await readPitrCatalog(settings.directory, options.trustedKeys());
    return [...catalog.bases, ...catalog.segments];
  };
  return {
    async append(fields) {
      const manifest = await chain.append(fields);
      if (manifest.kind === 'base') newestBase = manifest;
      if (offsite) sealedSince.push(manifest);
      return manifest;
    },
    head: () => chain.head(),
    async catchUp() {
      if (offsite) sealedSince.push(...(await catalogChain()));
    },
    copyOffsite() {
      if (offsite && !copying)
        copying = offsite.copy(sealedSince.splice(0)).finally(() => (copying = undefined));
    },
    async retain(windowMs) {
      const now = clock.now();
      await prunePitr({
        directory: settings.directory,
        trustedKeys: options.trustedKeys(),
        windowMs,
        now,
        logger,
      });
      await offsite?.prune(await catalogChain());
    },
    async baseDue() {
      if (baseNow) {
        baseNow = false; // the caller starts one at once
        return true;
      }
      if (newestBase && !(await present(newestBase))) newestBase = undefined; // removed meanwhile: read again
      if (newestBase === undefined)
        newestBase = (await readPitrCatalog(settings.directory, options.trustedKeys())).bases.at(-1) ?? null;
      if (!newestBase) return true;
      return (
        clock.now().getTime() - Date.parse(newestBase.createdAt) >= settings.continuous!.baseBackupPeriodMs
      );
    },
    needBase() {
      baseNow = true;
    },
    async settled() {
      await copying;
    },
  };
}
