// The two fsyncs that make a finished dump survive a power cut: its bytes before the rename, the directory after.
// A seam of its own so that a test can watch them happen (a dump without them looks the same until the crash).
import { constants } from 'node:fs';
import { openPrivateFile } from './private-file';
import { fsyncDirectory } from './dump-file';

export interface Durability {
  /** fsync of a written file, before it is renamed to its final name. */
  syncFile(path: string): Promise<void>;
  /** fsync of a directory, after a rename in it, so that the new name itself is on disk. */
  syncDirectory(directory: string): Promise<void>;
}

export const fileSystemDurability: Durability = {
  async syncFile(path) {
    const handle = await openPrivateFile(path, constants.O_RDWR);
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  },
  syncDirectory: fsyncDirectory,
};
