// Runs the work of one operation: progress recorded (at most every second) and logged (every 10 s), a heartbeat as a
// sign of life, and the final state saved until it lands.
import { formatBytes, formatDuration } from '../units';
import type { ProgressReporter } from '../ports/progress';
import type { OperationDeps, OperationWork } from './deps';
import type { OperationOutcome, OperationRecord } from './model';

const SAVE_EVERY_MS = 1_000;

export async function executeOperation(
  record: OperationRecord,
  work: OperationWork,
  deps: OperationDeps,
): Promise<void> {
  const { clock, logger, store } = deps;
  const started = clock.now().getTime();
  let lastSave = started;
  let lastLog = started;
  // Writes go one after another, so that a late progress write never overwrites the final state.
  let writes: Promise<void> = Promise.resolve();
  const save = () => {
    record.updatedAt = clock.now().toISOString();
    lastSave = clock.now().getTime();
    const snapshot = { ...record };
    writes = writes.then(
      () => store.save(snapshot),
      () => store.save(snapshot),
    );
    writes = writes.catch((error: unknown) =>
      // The database may be away for a moment (a restore's swap); the next write catches up.
      logger.debug(`Could not record the progress of operation ${record.id}: ${describe(error)}`),
    );
  };
  const logProgress = (force = false) => {
    const now = clock.now().getTime();
    if (!force && now - lastLog < (deps.logEveryMs ?? 10_000)) return;
    lastLog = now;
    logger.info(
      `Operation ${record.id} (${record.kind}): ${describeProgress(record)}, ${formatDuration(now - started)} elapsed.`,
    );
  };
  const progress: ProgressReporter = {
    phase(name, bytesTotal = null) {
      record.phase = name;
      record.bytesTotal = bytesTotal;
      record.bytesDone = bytesTotal === null ? null : 0;
      save();
      logProgress();
    },
    bytes(done) {
      record.bytesDone = done;
      if (clock.now().getTime() - lastSave >= SAVE_EVERY_MS) save();
      logProgress();
    },
  };
  const finished = new AbortController();
  void (async () => {
    for (;;) {
      await clock.sleep(deps.heartbeatMs ?? 5_000, finished.signal);
      if (finished.signal.aborted) return;
      save();
      logProgress();
    }
  })();

  let outcome: OperationOutcome;
  try {
    outcome = await work(progress);
    record.state = 'succeeded';
  } catch (error) {
    outcome = deps.describeFailure(error);
    record.state = 'failed';
  } finally {
    finished.abort();
  }
  record.outcome = outcome;
  record.finishedAt = clock.now().toISOString();
  const seconds = (clock.now().getTime() - started) / 1000;
  deps.metrics?.operationFinished(record.kind, record.state, seconds);
  logger.info(
    `Operation ${record.id} (${record.kind}) ${record.state} after ${formatDuration(seconds * 1000)}.`,
  );
  await writes;
  await saveFinal(record, deps);
}

/** The final state must land: a client follows the operation until it sees it. */
async function saveFinal(record: OperationRecord, deps: OperationDeps): Promise<void> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      record.updatedAt = deps.clock.now().toISOString();
      await deps.store.save({ ...record });
      return;
    } catch (error) {
      if (attempt >= 10) {
        deps.logger.error(`Could not record the end of operation ${record.id}: ${describe(error)}`);
        return;
      }
      await deps.clock.sleep(500 * attempt);
    }
  }
}

export function describeProgress(
  record: Pick<OperationRecord, 'phase' | 'bytesDone' | 'bytesTotal'>,
): string {
  const { phase, bytesDone, bytesTotal } = record;
  if (bytesDone === null) return phase;
  if (bytesTotal === null || bytesTotal <= 0) return `${phase}, ${formatBytes(bytesDone)}`;
  const percent = Math.min(99, Math.floor((bytesDone / bytesTotal) * 100));
  return `${phase} ${percent}% (${formatBytes(bytesDone)} of ${formatBytes(bytesTotal)})`;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
