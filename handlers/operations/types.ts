// Long operations (backup, restore ...) that outlive the request that started them: the record and its ports.

export type OperationKind = 'backup' | 'restore' | 'rehearsal';
export type OperationState = 'running' | 'succeeded' | 'failed';

/** The answer the operation would have given as a plain request: the client prints it exactly as before. */
export interface OperationOutcome {
  status: number;
  body: string; // JSON text, exactly as a synchronous answer would have sent it
}

export interface OperationRecord {
  id: string;
  kind: OperationKind;
  /** What was asked (e.g. {file, dryRun}); a second start with the same kind and params attaches. */
  params: Record<string, unknown>;
  user: string | null;
  idempotencyKey: string | null;
  state: OperationState;
  phase: string;
  bytesDone: number | null;
  bytesTotal: number | null; // null when unknown
  startedAt: string; // ISO 8601
  updatedAt: string; // last sign of life of the process running it
  finishedAt: string | null;
  /** The process running it (host, pid, start time): says which replica to look at. */
  owner: string;
  outcome: OperationOutcome | null;
}

/** Where operations are recorded, so that any replica can answer about them (runtime/db/operations-store.ts). */
export interface OperationStore {
  /** Inserts a new record; false when one with the same user and idempotency key exists. */
  insert(record: OperationRecord): Promise<boolean>;
  /** Writes the whole record (insert or update by id). */
  save(record: OperationRecord): Promise<void>;
  get(id: string): Promise<OperationRecord | null>;
  findByIdempotencyKey(user: string | null, key: string): Promise<OperationRecord | null>;
  /** The running operations of a kind, newest first. */
  running(kind: OperationKind): Promise<OperationRecord[]>;
  /** The newest operations, running ones first. */
  recent(limit: number): Promise<OperationRecord[]>;
  /** Marks running operations whose last sign of life is before `before` as failed with `outcome`; returns them. */
  failStale(before: Date, finishedAt: Date, outcome: OperationOutcome): Promise<OperationRecord[]>;
}

/** How far an operation got: handlers report through this optional port, the runner records and logs it. */
export interface ProgressReporter {
  /** A new phase; `bytesTotal` when it moves a known amount of bytes (null: unknown). */
  phase(name: string, bytesTotal?: number | null): void;
  /** Bytes done in the current phase. */
  bytes(done: number): void;
}

export const NO_PROGRESS: ProgressReporter = { phase: () => {}, bytes: () => {} };

export interface OperationMetrics {
  operationFinished(kind: OperationKind, outcome: 'succeeded' | 'failed', seconds: number): void;
}
