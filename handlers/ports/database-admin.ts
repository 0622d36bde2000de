// SQL-level administration of the server's own database, done from the maintenance database `postgres` (runtime/db/
// admin/ implements it), split by what callers need: facts about the database, its copies (scratch, aside, standby),
// the read-only switch a restore holds, and the cluster-wide locks. A use case takes the parts it uses.
import type { DatabaseLocale } from '../backup/model';

/** Facts about the server's database and its PostgreSQL server, read without changing anything. */
export interface DatabaseInfo {
  /** The server's own database, which every method here is about unless it names another. */
  readonly databaseName: string;
  serverVersion(): Promise<string>; // "15.20"
  databaseSizeBytes(): Promise<number>;
  schemaVersion(): Promise<number>;
  canCreateDatabases(): Promise<boolean>;
  /**
   * What would make the swap of a restore fail, checked before the restore starts: missing privileges on the
   * server's database (ownership, CREATEDB), each a sentence, and the sessions the role may not end (or null).
   */
  swapObstacles(): Promise<{ missingPrivileges: string[]; blockingSessions: string | null }>;
  databaseLocale(): Promise<DatabaseLocale>;
  /** Exact rows per table of the server's database, named as pg_dump names them (schema.table, quoted where needed). */
  liveRowCounts(): Promise<Record<string, number>>;
  /**
   * Free bytes on the PostgreSQL server's data directory, where that can be seen from here (the role may read
   * `data_directory` and the path is on this machine); null when it cannot.
   */
  dataDirectoryFreeBytes(): Promise<number | null>;
}

/** The copies next to the server's database: scratch, set-aside and standby databases, created, renamed, dropped. */
export interface DatabaseCopies {
  /** The server's own database, which every method here is about unless it names another. */
  readonly databaseName: string;
  databaseExists(name: string): Promise<boolean>;
  listDatabases(prefix: string): Promise<string[]>;
  dropDatabase(name: string): Promise<void>; // WITH (FORCE), IF EXISTS
  /** Ends other connections to `from`, then ALTER DATABASE from RENAME TO to. */
  renameDatabase(from: string, to: string): Promise<void>;
  /**
   * Removes the comment a temporary role's hand-over leaves on a copy (`bomnipotent hand-over <xid>`, which the checks
   * of a standby read) from database `name`, once it was swapped in; any other comment stays.
   */
  clearHandOverMark?(name: string): Promise<void>;
  /** ALTER DATABASE name ALLOW_CONNECTIONS true|false: the standby takes no connection while it waits. */
  setAllowConnections(name: string, allow: boolean): Promise<void>;
  /**
   * What can be read of a database without connecting to it: its oid (a drop and re-create changes it), its size,
   * whether it takes connections, and its seal: the transaction that last changed its pg_database row (any ALTER
   * DATABASE, including the one that would let a session in, changes it; autovacuum's in-place updates, statistics
   * resets and restarts do not); null when it does not exist.
   */
  databaseState(
    name: string,
  ): Promise<{ oid: string; seal: string; sizeBytes: number; allowConnections: boolean } | null>;
  /**
   * Connects to `name` (a freshly restored copy) with connections refused to everyone else (others ended), checks
   * that nothing but the loader's one transaction wrote to it, VACUUM (FREEZE, ANALYZE), then the row count of each
   * table given (as the dump names it: schema.table, quoted where needed), the number of tables in it, this
   * product's schema version inside, and its content digest. It refuses connections afterwards.
   */
  inspectRestored(
    name: string,
    tables: string[],
  ): Promise<{
    rowCounts: Record<string, number>;
    tables: number;
    schemaVersion: number;
    contentDigest: string;
  }>;
}

/** The read-only switch a restore holds for every replica (default_transaction_read_only on the database). */
export interface ReadOnlySwitch {
  /** The server's own database, which every method here is about unless it names another. */
  readonly databaseName: string;
  /**
   * Makes PostgreSQL itself refuse writes to database `name` for every session of every replica: sets the database's
   * default_transaction_read_only and ends the sessions begun before (they keep the old default); they reconnect
   * read-only. The setting travels with the database through a rename.
   */
  refuseWrites(name: string): Promise<void>;
  /** Resets that setting and ends the sessions begun while it held, so that they reconnect able to write. */
  allowWrites(name: string): Promise<void>;
  /** Whether database `name` carries the read-only setting (e.g. left by a restore that was killed). */
  refusesWrites(name: string): Promise<boolean>;
}

/** Cluster-wide advisory locks: one backup or restore, one rehearsal, the standby's hand-over. */
export interface DatabaseLock {
  /** The server's own database, which every method here is about unless it names another. */
  readonly databaseName: string;
  /** Runs fn while holding a cluster-wide advisory lock (held from the maintenance database); null when someone else holds it. */
  tryWithLock<T>(
    name: string,
    fn: (lease: LockLease) => Promise<T>,
  ): Promise<{ acquired: true; value: T } | { acquired: false }>;
}

/** All of it: what runtime/db/admin/ builds once and the composition root hands out in parts. */
export type DatabaseAdmin = DatabaseInfo & DatabaseCopies & ReadOnlySwitch & DatabaseLock;

/** The lock as its holder sees it: the session holding it can die (a killed backend, a network cut) mid-operation. */
export interface LockLease {
  /** True while the lock's session is alive and still holds it; asked before each irreversible step. */
  held(): Promise<boolean>;
}
