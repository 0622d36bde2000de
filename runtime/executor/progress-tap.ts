// A pass-through stream that counts the bytes going by and reports them (progress of a dump or a restore).
import { Transform, type TransformCallback } from 'node:stream';

export class ProgressTap extends Transform {
  private bytes = 0;

  constructor(private readonly report: ((bytes: number) => void) | undefined) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    try {
      this.report?.(this.bytes);
    } catch {
      // progress is advisory: a failing observer must not break the dump or the restore
    }
    callback(null, chunk);
  }
}
