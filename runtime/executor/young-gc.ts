// A pass-through stage that asks V8 for a young-generation collection (a scavenge) every 8 MiB of a restore's
// decoded stream. The Dockerfile, `npm start` and the sidecar's manifests pass --expose-gc; a process started without it
// (`bomnipotent_server` run straight from its bin) asks V8 for the same function at the first restore (gcFromV8). Every chunk a child's stdout delivers (zstd -d, age -d) is a new ArrayBuffer outside V8's heap whose
// small wrapper dies young; with 2 MB semi-spaces the wrappers fill the young generation so slowly that the freed
// buffers' memory stayed in the RSS until V8's own external-memory trigger, so a restore's peak RSS grew with its
// throughput (issue 19). A scavenge costs well under a millisecond; measured in docs/benchmarks.md.
import { Transform, type TransformCallback } from 'node:stream';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

export const YOUNG_GC_EVERY_BYTES = 8 * 1024 * 1024;

type Collect = () => void;
type ExposedGc = (options?: { type: 'minor' | 'major' }) => void;

let fromV8: ExposedGc | null | undefined; // undefined: not asked yet; null: V8 did not give it

/**
 * `gc` for a process started without --expose-gc: the flag set at run time exposes the function in contexts made
 * after it (the way Jest's leak detector gets it); the process's own global stays as it was.
 */
function gcFromV8(): ExposedGc | null {
  try {
    setFlagsFromString('--expose-gc');
    const gc: unknown = runInNewContext('gc');
    return typeof gc === 'function' ? (gc as ExposedGc) : null;
  } catch {
    return null;
  }
}

/** V8's young-generation collection: the process's `gc` (node --expose-gc), else V8's, else undefined. */
export function youngCollector(): Collect | undefined {
  const exposed = (globalThis as { gc?: ExposedGc }).gc;
  if (fromV8 === undefined && typeof exposed !== 'function') fromV8 = gcFromV8();
  const gc = typeof exposed === 'function' ? exposed : fromV8;
  if (!gc) return undefined;
  return () => gc({ type: 'minor' });
}

export class YoungGcTap extends Transform {
  private sinceLast = 0;

  constructor(
    private readonly collect: Collect,
    private readonly everyBytes = YOUNG_GC_EVERY_BYTES,
  ) {
    // As small as the stages around it (copy-count.ts): a chunk must not wait long here either.
    super({ highWaterMark: 64 * 1024 });
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.sinceLast += chunk.length;
    if (this.sinceLast >= this.everyBytes) {
      this.sinceLast = 0;
      this.collect();
    }
    callback(null, chunk);
  }
}

/** The stage for a restore's decoded stream; none when the process cannot collect on request. */
export function youngGcStages(collect = youngCollector()): Transform[] {
  return collect ? [new YoungGcTap(collect)] : [];
}
