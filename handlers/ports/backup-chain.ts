// The newest backup sequence this server signed, kept in its database.

/** The newest backup sequence this server signed, kept in its database (it survives a wiped directory). */
export interface BackupChainStore {
  newestSequence(database: string): Promise<number>; // 0 when none was recorded
  /** Records `sequence` unless a higher one is recorded already. */
  record(database: string, sequence: number): Promise<void>;
}
