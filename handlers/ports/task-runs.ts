// When each periodic task last started, kept in the database so that every replica sees it.

/** When each task last started, kept in the database so that every replica sees it. */
export interface TaskRunStore {
  /** When the last run that did not fail started (a failed run must not keep the next replica from retrying). */
  lastStarted(name: string): Promise<Date | null>;
  recordStart(name: string, at: Date): Promise<void>;
  recordFinish(name: string, at: Date, outcome: 'succeeded' | 'failed' | 'skipped'): Promise<void>;
}
