// Where operations are recorded, so that any replica can answer about them (runtime/db/operations-store.ts).
import type { OperationKind, OperationOutcome, OperationRecord } from '../operations/model';

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
