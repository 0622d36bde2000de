// Opening a file in the backup directory or the store's download path: never through a symbolic link, and only a
// regular file of the server's own uid (and, to write, with no other name), so that whoever can write the directory
// cannot point the server's writes (audit.log.jsonl -> config.toml) or reads at a file of their choosing.
import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';

export class UnsafeFileError extends Error {
  override name = 'UnsafeFileError';
}

/** open(2) with O_NOFOLLOW (and O_NONBLOCK: a FIFO planted there cannot block us), then the checks on the inode. */
export async function openPrivateFile(path: string, flags: number, mode = 0o600): Promise<FileHandle> {
  let handle: FileHandle;
  try {
    handle = await open(path, flags | constants.O_NOFOLLOW | constants.O_NONBLOCK, mode);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ELOOP')
      throw new UnsafeFileError(
        `${path} is a symbolic link; the server opens only its own regular files there`,
      );
    throw error;
  }
  try {
    const info = await handle.stat();
    const uid = process.getuid?.();
    if (!info.isFile()) throw new UnsafeFileError(`${path} is not a regular file`);
    if (uid !== undefined && info.uid !== uid)
      throw new UnsafeFileError(`${path} is owned by uid ${info.uid}, not by the server's uid ${uid}`);
    const writing = (flags & (constants.O_WRONLY | constants.O_RDWR)) !== 0;
    if (writing && info.nlink > 1)
      throw new UnsafeFileError(
        `${path} has another name (a hard link); the server writes only its own files there`,
      );
    return handle;
  } catch (error) {
    await handle.close();
    throw error;
  }
}
