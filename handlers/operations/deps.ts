// What the long-operation use cases take: the record store, time, the log, ids and this process's name.
import type { Clock } from '../ports/clock';
import type { Logger } from '../ports/logger';
import type { OperationMetrics } from '../ports/metrics';
import type { OperationStore } from '../ports/operation-store';
import type { ProgressReporter } from '../ports/progress';
import type { OperationKind, OperationOutcome } from './model';

export interface OperationDeps {
  store: OperationStore;
  clock: Clock;
  logger: Logger;
  newId(): string;
  /** This process (host, pid, start time), recorded with every operation it runs. */
  owner: string;
  metrics?: OperationMetrics | undefined;
  /** The answer a plain request would have got for this failure (problem+json and its status). */
  describeFailure(error: unknown): OperationOutcome;
  /** How often a running operation's record is refreshed as a sign of life (default 5 s). */
  heartbeatMs?: number;
  /** Progress goes to the log at most this often (default 10 s). */
  logEveryMs?: number;
  /** The operations this process runs, until their final state is recorded: a waiting poll wakes when one ends. */
  inFlight?: Map<string, Promise<unknown>>;
}

export interface StartRequest {
  kind: OperationKind;
  params: Record<string, unknown>;
  user: string | null;
  idempotencyKey: string | null;
}

/** The handler call itself; it reports progress and returns what a synchronous answer would have been. */
export type OperationWork = (progress: ProgressReporter) => Promise<OperationOutcome>;
