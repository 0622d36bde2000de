// The server's connection pool and schema, as the restore swap sees them.

/** The server's connection pool and schema, as seen by the restore swap. */
export interface DatabaseLifecycle {
  drainPool(): Promise<void>;
  reopenPool(): Promise<void>;
  /** Applies pending migrations to the (possibly just restored) database; returns the resulting schema version. */
  migrate(): Promise<number>;
  readonly knownSchemaVersion: number; // the newest schema version this build knows
  /**
   * Copies what must outlive a restore from the replaced database into the restored one: the signatures seen
   * within the replay window, so that a request captured before the restore cannot be replayed after it.
   */
  carryOverFrom(previousDatabase: string): Promise<number>;
  /**
   * Before the swap, while reads are still answered: copies the live database's seen signatures into the restored
   * copy, so that the carry-over inside the swap (when nothing is answered) only adds the few seen since.
   */
  carrySignaturesAhead(restoredDatabase: string): Promise<number>;
  /**
   * The approved admins with a valid key (unexpired, unrevoked, with the admin role) in the live database now, and
   * those the restored copy will have once the live database's revocations, denials and role removals are carried
   * over: a restore must not lock the admins out.
   */
  adminsThroughRestore(restoredDatabase: string): Promise<{ before: string[]; after: string[] }>;
}
