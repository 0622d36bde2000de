// The segment pg_receivewal is writing: <segment>.partial in the incoming folder. pg_receivewal pads a new one to the
// full 16 MB with zeros before it writes any WAL into it, and on restart resumes only a .partial that is empty or
// full size: one cut short (pg_receivewal killed while padding it) makes every restart fail with "has N bytes, should
// be 0 or 16777216", and the window would stop for good. Such a file holds no WAL yet (only zeros), and pg_receivewal
// streams a .partial again from the start of its segment, so completing the padding is exactly what it would have done.
import { readdir, stat, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../../handlers/ports/logger';

export const SEGMENT_BYTES = 16 * 1024 * 1024; // checked at capture start (wal_segment_size)

/** Pads every .partial that is neither empty nor a full segment to the segment size; says so in the log. */
export async function completeCutPartials(incoming: string, logger: Logger): Promise<void> {
  for (const name of await readdir(incoming)) {
    if (!name.endsWith('.partial')) continue;
    const path = join(incoming, name);
    const size = (await stat(path).catch(() => null))?.size;
    if (size === undefined || size === 0 || size === SEGMENT_BYTES) continue;
    await truncate(path, SEGMENT_BYTES);
    logger.warn(
      `Continuous protection: ${name} has ${size} bytes, not 0 or ${SEGMENT_BYTES} (pg_receivewal was stopped while it prepared the segment); it was padded to the full segment so that pg_receivewal streams it again from its start.`,
    );
  }
}
