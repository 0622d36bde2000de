// Where pg_receivewal resumes. It takes its start from the files in the incoming folder (the segment after the newest
// completed one there, or the start of a .partial) and only when the folder is empty from the slot's restart_lsn, or,
// when the slot has none saved, from the server's current position. The sealer removes every sealed segment, so the
// folder is often empty; and a slot's position is saved only at checkpoints: after a crash of the server before the
// first checkpoint since streaming began, the slot comes back with no position, pg_receivewal would start at the
// server's current segment, and the WAL written in between (the end-of-recovery checkpoint, any commit before the
// receiver reconnects) would be a gap that ends the window. So the newest sealed segment stays in incoming as a
// resume point: a file of its name and the full segment size that holds no data (sparse: it costs no disk), which
// pg_receivewal reads only by name and size. The sealer never seals a resume point (its first page is zeros, never a
// WAL page header); a new resume point replaces the last one.
import { open, readdir, rename, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SEGMENT_NAME } from '../../handlers/pitr/manifest';
import { SEGMENT_BYTES } from './partial';

/** Whether the segment file at `path` is a resume point (full size, its first page header all zeros). */
export async function isResumePoint(path: string): Promise<boolean> {
  if ((await stat(path).catch(() => null))?.size !== SEGMENT_BYTES) return false;
  const file = await open(path, 'r');
  try {
    const head = Buffer.alloc(8);
    await file.read(head, 0, head.length, 0);
    return head.every((byte) => byte === 0);
  } finally {
    await file.close();
  }
}

/**
 * Leaves the newest of the sealed `segments` in incoming as the resume point and removes the others; returns its name.
 * `known`: the resume point made before, not opened again to tell (pg_receivewal never writes that name again).
 */
export async function keepResumePoint(
  incoming: string,
  segments: readonly string[],
  known?: string,
): Promise<string | undefined> {
  const newest = [...segments].sort().at(-1);
  for (const segment of segments) if (segment !== newest) await rm(join(incoming, segment), { force: true });
  if (newest === undefined || newest === known || (await isResumePoint(join(incoming, newest))))
    return newest;
  const temporary = join(incoming, `.${newest}.resume-point`); // not a name pg_receivewal reads
  await writeFile(temporary, '');
  await truncate(temporary, SEGMENT_BYTES);
  await rename(temporary, join(incoming, newest)); // atomically: pg_receivewal never sees a short file of that name
  return newest;
}

/**
 * Removes every place pg_receivewal would resume from (the .partial and the resume point): the slot was dropped or
 * the server no longer has the WAL after the resume point, so streaming starts afresh where the server is.
 */
export async function dropResumePoints(incoming: string): Promise<void> {
  for (const name of await readdir(incoming))
    if (name.endsWith('.partial') || SEGMENT_NAME.test(name) || name.endsWith('.resume-point'))
      await rm(join(incoming, name), { force: true });
}
