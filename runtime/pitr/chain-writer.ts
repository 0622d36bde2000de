// Appends signed PITR manifests to one hash chain: one writer at a time (the segment sealer and a base backup run side
// by side), each manifest naming the sequence and digest of the one before it. When the newest manifest it wrote was
// removed from the folder meanwhile, the chain goes on from the newest one still there (with an error line): linked to
// the removed one, every later manifest would sit behind a break for good and the window would never move again;
// the WAL gap the removal leaves is named by the catalog and starts a new base backup (sealer.ts).
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { pitrDigest, PITR_FORMAT, type PitrManifest } from '../../handlers/pitr/manifest';
import type { Logger } from '../../handlers/ports/logger';
import type { ManifestSigner } from '../../handlers/ports/manifest-signer';
import { MANIFEST_SUFFIX, readPitrHead, writeManifestFile, type PitrFolder } from './folder';

export type ManifestFields = Omit<PitrManifest, 'format' | 'sequence' | 'previousManifestSha256'>;

export interface ChainWriter {
  append(fields: ManifestFields): Promise<PitrManifest>;
  /** The newest manifest of the chain (after the appends under way), for the tail to bind to. */
  head(): Promise<PitrManifest | null>;
}

const present = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );

export function createChainWriter(options: {
  directory: string;
  folder: PitrFolder;
  signer: () => ManifestSigner;
  trustedKeys: () => readonly string[];
  logger: Logger;
}): ChainWriter {
  let head: PitrManifest | null | undefined; // undefined: not read yet
  let queue: Promise<unknown> = Promise.resolve();
  const appendNow = async (fields: ManifestFields): Promise<PitrManifest> => {
    if (head && !(await present(join(options.folder.root, head.file + MANIFEST_SUFFIX)))) {
      const lost = head;
      head = await readPitrHead(options.directory, options.trustedKeys());
      options.logger.error(
        `Continuous protection: the newest sealed file ${lost.file} (sequence ${lost.sequence}) was removed from ${options.folder.root}; the chain goes on from ${head ? `${head.file} (sequence ${head.sequence})` : 'its start'}, and the restorable window ends before the gap until the next base backup.`,
      );
    }
    if (head === undefined) head = await readPitrHead(options.directory, options.trustedKeys());
    const manifest: PitrManifest = {
      format: PITR_FORMAT,
      ...fields,
      sequence: (head?.sequence ?? 0) + 1,
      previousManifestSha256: head ? pitrDigest(head) : null,
    };
    const signer = options.signer();
    if (!signer.signPitr) throw new Error('the backup-signing key cannot sign PITR manifests here');
    await writeManifestFile(options.folder.root, manifest.file, await signer.signPitr(manifest));
    head = manifest;
    return manifest;
  };
  return {
    append(fields) {
      const next = queue.then(() => appendNow(fields));
      queue = next.catch(() => {});
      return next;
    },
    head() {
      // In the queue: never read beside an append that is about to set it.
      const next = queue.then(async () => {
        if (head === undefined) head = await readPitrHead(options.directory, options.trustedKeys());
        return head;
      });
      queue = next.catch(() => {});
      return next;
    },
  };
}
