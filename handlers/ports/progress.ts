// How far an operation got: handlers report through this optional port, the runner records and logs it.

/** How far an operation got: handlers report through this optional port, the runner records and logs it. */
export interface ProgressReporter {
  /** A new phase; `bytesTotal` when it moves a known amount of bytes (null: unknown). */
  phase(name: string, bytesTotal?: number | null): void;
  /** Bytes done in the current phase. */
  bytes(done: number): void;
}

export const NO_PROGRESS: ProgressReporter = { phase: () => {}, bytes: () => {} };
