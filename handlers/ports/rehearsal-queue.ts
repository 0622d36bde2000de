// Background rehearsals (handlers/backup/rehearsal-queue.ts is the one implementation).

/** Background rehearsals of new backups, one at a time in this process; a burst of backups rehearses only the newest. */
export interface RehearsalQueue {
  enqueue(file: string): void;
  /** Resolves once no rehearsal of this queue runs (tests, shutdown, `create --wait-rehearsal`). */
  idle(): Promise<void>;
  /** Why the rehearsal of `file` queued here did not run (superseded by a newer backup, refused), or null. */
  notRun(file: string): string | null;
}
