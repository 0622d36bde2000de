// Background rehearsals (handlers/backup/rehearsal-queue.ts is the one implementation).

/** Background rehearsals of new backups, one at a time in this process; a burst of backups rehearses only the newest. */
export interface RehearsalQueue {
  enqueue(file: string): void;
  /** Resolves once no rehearsal of this queue runs (tests, shutdown). */
  idle(): Promise<void>;
}
