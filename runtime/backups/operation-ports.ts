// The ports of long operations: the record store in the database, ids, this process's name, failures as answers.
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { failInterruptedOperations, type OperationDeps } from '../../handlers/operations/run-operation';
import type { OperationMetrics } from '../../handlers/ports/metrics';
import { backupLockName } from '../../handlers/backup/lock';
import type { Clock } from '../../handlers/ports/clock';
import type { DatabaseLock } from '../../handlers/ports/database-admin';
import type { Logger } from '../../handlers/ports/logger';
import { problemOutcome } from '../http/problem';
import type { DbHandle } from '../db/handle';
import { createOperationStore } from '../db/operations-store';

export function createOperationDeps(deps: {
  db: DbHandle;
  clock: Clock;
  logger: Logger;
  metrics?: OperationMetrics;
}): OperationDeps {
  return {
    store: createOperationStore(deps.db),
    clock: deps.clock,
    logger: deps.logger,
    newId: randomUUID,
    owner: `${hostname()} pid ${process.pid} since ${new Date(performance.timeOrigin).toISOString()}`,
    metrics: deps.metrics,
    describeFailure: (error) => problemOutcome(error, deps.logger),
    inFlight: new Map(),
  };
}

/**
 * At start-up: when no backup or restore holds the lock anywhere, an operation still recorded as running was
 * cut off by a stopped server; it is marked failed with that reason. While the lock is held (another replica
 * is at work), nothing is touched: a dead owner's record then fails once it shows no sign of life.
 */
export async function markInterruptedOperations(
  admin: DatabaseLock,
  operations: OperationDeps,
): Promise<void> {
  const result = await admin.tryWithLock(backupLockName(admin.databaseName), () =>
    failInterruptedOperations(operations),
  );
  if (!result.acquired)
    operations.logger.debug('A backup or restore is running elsewhere; running operations are left alone.');
}
