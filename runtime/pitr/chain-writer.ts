// Appends signed PITR manifests to one hash chain: one writer at a time (the segment sealer and a base backup run side
// by side), each manifest naming the sequence and digest of the one before it.
import { pitrDigest, PITR_FORMAT, type PitrManifest } from '../../handlers/pitr/manifest';
import type { ManifestSigner } from '../../handlers/ports/manifest-signer';
import { readPitrHead, writeManifestFile, type PitrFolder } from './folder';

export type ManifestFields = Omit<PitrManifest, 'format' | 'sequence' | 'previousManifestSha256'>;

export interface ChainWriter {
  append(fields: ManifestFields): Promise<PitrManifest>;
}

export function createChainWriter(options: {
  directory: string;
  folder: PitrFolder;
  signer: () => ManifestSigner;
  trustedKeys: () => readonly string[];
}): ChainWriter {
  let head: PitrManifest | null | undefined; // undefined: not read yet
  let queue: Promise<unknown> = Promise.resolve();
  const appendNow = async (fields: ManifestFields): Promise<PitrManifest> => {
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
  };
}
