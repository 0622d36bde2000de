// The signed tail a restore replays, held for it. While capture runs, the tail is replaced every tail_interval (the
// newer one written, the older one removed), and a restore takes minutes: the tail it planned with is copied into the
// restore's private folder before anything else is read (the file is opened first: an open file stays readable when
// the writer removes it), so that its bytes stay whatever the writer does. If it was replaced between the plan and
// this copy, what replaced it serves as well, judged again under the trust policy:
// the newer tail of the same segment after the same chain head (it covers the target too, and more), or the segment
// itself, sealed since as the next link of the chain. Anything else is a clear refusal to run the restore again.
import { createWriteStream } from 'node:fs';
import { mkdir, open } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { AppError } from '../../handlers/errors';
import type { PitrManifest } from '../../handlers/pitr/manifest';
import type { PitrTail } from '../../handlers/pitr/tail-manifest';
import type { PitrPlan } from '../../handlers/pitr/window';
import { pitrFolder, readPitrCatalog } from './folder';

/** What replays the planned tail: a tail linked under `directory` (a backup-directory layout), or a sealed segment. */
export type HeldTail =
  { kind: 'tail'; tail: PitrTail; directory: string } | { kind: 'sealed'; segment: PitrManifest };

/** Copies the tail's data file into `root`/held as soon as it is open: an open file stays readable once removed. */
async function copyInto(directory: string, root: string, tail: PitrTail): Promise<boolean> {
  const held = pitrFolder(join(root, 'held'));
  await mkdir(held.tail, { recursive: true, mode: 0o700 });
  let source;
  try {
    source = await open(join(pitrFolder(directory).root, tail.file), 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
  await pipeline(source.createReadStream(), createWriteStream(join(held.root, tail.file), { mode: 0o600 }));
  return true;
}

export async function holdTail(options: {
  directory: string;
  root: string;
  plan: PitrPlan;
  target: string;
  trustedKeys: readonly string[];
}): Promise<HeldTail | null> {
  const { directory, root, plan } = options;
  const planned = plan.tail;
  if (!planned) return null;
  const held = join(root, 'held');
  if (await copyInto(directory, root, planned)) return { kind: 'tail', tail: planned, directory: held };
  const catalog = await readPitrCatalog(directory, options.trustedKeys);
  const sealed = catalog.segments.find(
    (s) => s.segment === planned.segment && s.previousManifestSha256 === planned.previousManifestSha256,
  );
  if (sealed) return { kind: 'sealed', segment: sealed };
  const newer = catalog.tail;
  if (
    newer &&
    newer.segment === planned.segment &&
    newer.previousManifestSha256 === planned.previousManifestSha256 &&
    newer.coversUntil >= options.target &&
    (await copyInto(directory, root, newer))
  )
    return { kind: 'tail', tail: newer, directory: held };
  throw new AppError(
    'PITR.TAIL_REPLACED',
    'conflict',
    `The signed tail pitr/${planned.file} was replaced while the restore to ${options.target} started, and nothing that replaced it covers that point (chain head ${planned.previousManifestSha256.slice(0, 12)}…).`,
    { suggestion: 'Nothing was changed. Run the restore again: it plans with the newest tail.' },
  );
}
