// Long operations (backup, restore ...) that outlive the request that started them: the record.

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
