// WAL of two PostgreSQL clusters never mixes in one chain. A new database server (a fresh one after a disaster
// recovery, an upgrade to another major, a cluster made anew) starts its WAL again at segment 1 with another system
// identifier: its segments would carry the names of the old server's, and the sealer would take them for sealed ones
// and drop them, the off-site copy would find "its" objects already there and skip them, and retention would remove
// the old server's files by name. So capture checks, before it streams, that the folder's chain is this server's,
// and the off-site copy that the store's is; otherwise it stops with a line that says what to do.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AppError } from '../../handlers/errors';
import { readSignedEnvelope } from '../../handlers/backup/manifest';
import { pitrManifestSchema, type PitrManifest } from '../../handlers/pitr/manifest';
import type { OffsiteBackup } from '../../handlers/offsite/model';
import type { OffsiteStore } from '../../handlers/ports/offsite-store';
import { MANIFEST_SUFFIX, pitrFolder } from './folder';

/** The cluster whose WAL the newest of `manifests` holds (null: none). */
export function clusterOf(manifests: readonly PitrManifest[]): string | null {
  return [...manifests].sort((a, b) => a.sequence - b.sequence).at(-1)?.systemIdentifier ?? null;
}

/** The cluster a manifest file names, read without judging its signature (null: unreadable). */
function clusterIn(text: string): string | null {
  const envelope = readSignedEnvelope(text);
  const parsed = envelope.ok ? pitrManifestSchema.safeParse(envelope.data.manifest) : undefined;
  return parsed?.success ? parsed.data.systemIdentifier : null;
}

/**
 * Refuses to capture into a backup directory whose newest readable manifest (of base/, and of wal/) is of another
 * PostgreSQL cluster, whether its key is trusted or not: a refusal is the safe side (the worst a forged manifest can
 * do is stop capture, with this line). Only the newest: this check is what keeps two clusters out of one folder, so a
 * folder holds one cluster's files, and the newest says which (reading every manifest would cost a read per segment
 * at every start).
 */
export async function checkSameCluster(directory: string, systemIdentifier: string): Promise<void> {
  const { root } = pitrFolder(directory);
  for (const sub of ['base', 'wal']) {
    const names = await readdir(join(root, sub)).catch(() => [] as string[]);
    const manifests = names.filter((n) => n.endsWith(MANIFEST_SUFFIX)).sort();
    for (const name of manifests.reverse()) {
      const theirs = clusterIn(await readFile(join(root, sub, name), 'utf8').catch(() => ''));
      if (theirs === null) continue; // unreadable: the one before says
      if (theirs === systemIdentifier) break;
      throw new AppError(
        'PITR.ANOTHER_CLUSTER',
        'conflict',
        `${root} holds the WAL of another PostgreSQL cluster (system identifier ${theirs}, ${sub}/${name}); the database server is cluster ${systemIdentifier} (a new, restored or upgraded server), and the WAL of two clusters never goes into one chain.`,
        {
          suggestion: `Move ${root} aside (keep it while you may still need a point from the old server's window), and capture starts a new chain for this server.`,
        },
      );
    }
  }
}

/** The cluster the newest of `backups` (one PITR store's) holds the WAL of (null: none, or its manifest unreadable). */
async function newestCluster(store: OffsiteStore, backups: readonly OffsiteBackup[]): Promise<string | null> {
  const newest = [...backups].sort((a, b) => (a.file < b.file ? -1 : 1)).at(-1);
  if (!newest) return null;
  const envelope = readSignedEnvelope(
    Buffer.from(await store.readManifest(newest.manifestFile)).toString('utf8'),
  );
  const parsed = envelope.ok ? pitrManifestSchema.safeParse(envelope.data.manifest) : undefined;
  return parsed?.success ? parsed.data.systemIdentifier : null;
}

/**
 * Lists both PITR stores once and returns what they hold (`base/<file>`, `wal/<file>`); refuses the off-site copy (and
 * retention there) when a store's newest base backup or segment holds the WAL of another cluster than `ours` (the
 * cluster of the local chain; null: nothing to compare): a new server must not copy over or prune the old one's.
 */
export async function listStoresOfCluster(
  stores: Record<'base' | 'wal', OffsiteStore>,
  location: string,
  ours: string | null,
): Promise<Set<string>> {
  const found = new Set<string>();
  for (const sub of ['base', 'wal'] as const) {
    const { backups } = await stores[sub].list();
    for (const backup of backups) found.add(`${sub}/${backup.file}`);
    const theirs = ours === null ? null : await newestCluster(stores[sub], backups);
    if (theirs === null || theirs === ours) continue;
    throw new AppError(
      'PITR.ANOTHER_CLUSTER',
      'conflict',
      `${location} holds the WAL of another PostgreSQL cluster (system identifier ${theirs}), not of this database server (${ours}); nothing is copied there or removed from there`,
      {
        suggestion: `Give this server's off-site store another prefix, or move ${location} aside once the old server's window is no longer needed.`,
      },
    );
  }
  return found;
}
