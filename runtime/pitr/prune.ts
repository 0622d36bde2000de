// pitr_window: removes the base backups and WAL segments older than the window, never what a restore to the window's
// start needs (handlers/pitr/retention.ts decides). Oldest first, each manifest before its data file: a removal cut
// short leaves a shorter chain or a data file no manifest names, never a manifest without its file.
import { rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { planPitrPrune } from '../../handlers/pitr/retention';
import type { Logger } from '../../handlers/ports/logger';
import { formatDuration } from '../../handlers/units';
import { fsyncDirectory } from '../executor/dump-file';
import { MANIFEST_SUFFIX, pitrFolder, readPitrCatalog } from './folder';

export async function prunePitr(options: {
  directory: string;
  trustedKeys: readonly string[];
  windowMs: number;
  now: Date;
  logger: Logger;
}): Promise<string[]> {
  const { root } = pitrFolder(options.directory);
  const catalog = await readPitrCatalog(options.directory, options.trustedKeys);
  const cutoff = new Date(options.now.getTime() - options.windowMs).toISOString();
  const removed: string[] = [];
  for (const manifest of planPitrPrune(catalog, cutoff)) {
    await rm(join(root, manifest.file + MANIFEST_SUFFIX), { force: true });
    await rm(join(root, manifest.file), { force: true });
    await fsyncDirectory(dirname(join(root, manifest.file)));
    removed.push(manifest.file);
  }
  if (removed.length > 0) {
    const bases = removed.filter((f) => f.startsWith('base/')).length;
    options.logger.info(
      `Continuous protection: removed ${bases} base backup(s) and ${removed.length - bases} WAL segment(s) older than pitr_window (${formatDuration(options.windowMs)}); what a restore to ${cutoff} or later needs is kept.`,
    );
  }
  return removed;
}
