// Writing into a child's stdin with backpressure, failing instead of waiting for ever when the child is gone.
import type { Writable } from 'node:stream';

/**
 * Writes `chunk` to `stdin` and calls back once it may take more; a child that exited or was killed never drains
 * its stdin again, so the write then fails with "<tool> stopped reading its input".
 */
export function writeToChild(
  stdin: Writable,
  tool: string,
  chunk: Buffer,
  callback: (error?: Error | null) => void,
): void {
  const gone = () => new Error(`${tool} stopped reading its input`);
  if (stdin.destroyed || !stdin.writable) return callback(gone());
  if (stdin.write(chunk)) return callback();
  const onDrain = () => {
    stdin.off('close', onClose);
    callback();
  };
  const onClose = () => {
    stdin.off('drain', onDrain);
    callback(gone());
  };
  stdin.once('drain', onDrain);
  stdin.once('close', onClose);
}
