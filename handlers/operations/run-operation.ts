// Runs any handler call as an operation: recorded with id, state, phase and progress, answered by polling.
import { AppError } from '../errors';
import type { Clock } from '../ports/clock';
import type { OperationDeps, OperationWork, StartRequest } from './deps';
import { executeOperation } from './execute-operation';
import type { OperationOutcome, OperationRecord } from './model';

export type { OperationDeps, OperationWork, StartRequest } from './deps';
export { describeProgress } from './execute-operation';

/** A running operation without a sign of life for this long is reported as failed (its process is gone). */
export const STALE_AFTER_MS = 60_000;

/** Starts the work in the background, or attaches to the same operation when it was started already. */
export async function startOperation(
  request: StartRequest,
  work: OperationWork,
  deps: OperationDeps,
): Promise<{ record: OperationRecord; attached: boolean; settled?: Promise<OperationRecord> }> {
  const { store } = deps;
  if (request.idempotencyKey !== null) {
    const earlier = await store.findByIdempotencyKey(request.user, request.idempotencyKey);
    if (earlier) return { record: checkSameRequest(earlier, request), attached: true };
  }
  const cutoff = deps.clock.now().getTime() - STALE_AFTER_MS;
  const same = (await store.running(request.kind)).find(
    (r) => Date.parse(r.updatedAt) >= cutoff && sameParams(r.params, request.params),
  );
  if (same) return { record: same, attached: true };

  const now = deps.clock.now().toISOString();
  const record: OperationRecord = {
    id: deps.newId(),
    kind: request.kind,
    params: request.params,
    user: request.user,
    idempotencyKey: request.idempotencyKey,
    state: 'running',
    phase: 'starting',
    bytesDone: null,
    bytesTotal: null,
    startedAt: now,
    updatedAt: now,
    finishedAt: null,
    owner: deps.owner,
    outcome: null,
  };
  if (!(await store.insert(record))) {
    // A retried start raced the first one: both carry the same key, the first one won.
    const earlier = await store.findByIdempotencyKey(request.user, request.idempotencyKey ?? '');
    if (earlier) return { record: checkSameRequest(earlier, request), attached: true };
  }
  deps.logger.info(
    `Started operation ${record.id} (${record.kind}${request.user ? ` for ${request.user}` : ''}).`,
  );
  const settled = executeOperation(record, work, deps).then(() => ({ ...record }));
  if (deps.inFlight) {
    const forget = () => void deps.inFlight?.delete(record.id);
    deps.inFlight.set(record.id, settled);
    settled.then(forget, forget);
  }
  return { record: { ...record }, attached: false, settled };
}

/** How often a waiting poll looks at an operation that another replica runs. */
const WAIT_STEP_MS = 250;

/**
 * A waiting poll: a running operation is answered as soon as it ends, or after `waitMs` with its progress. One this
 * process runs wakes the poll when it ends; one of another replica is looked at every WAIT_STEP_MS.
 */
export async function waitForOperation(
  id: string,
  deps: OperationDeps,
  waitMs: number,
): Promise<OperationRecord> {
  // Elapsed time, not now(): the wait is about this request, and a test's fixed now() must not make it endless.
  const { clock } = deps;
  const deadline = clock.elapsedMs() + waitMs;
  let record = await getOperation(id, deps);
  for (;;) {
    const left = deadline - clock.elapsedMs();
    if (record.state !== 'running' || left <= 0) return record;
    const local = deps.inFlight?.get(id);
    await sleepUnless(clock, local ?? null, local ? left : Math.min(WAIT_STEP_MS, left));
    // A restore's swap hides the record for a moment (the database is renamed, its operations carried over): the
    // waiting poll looks again until its time is up, then answers with what it saw last.
    const seen = await getOperation(id, deps).catch(() => null);
    if (seen) record = seen;
    else if (deadline - clock.elapsedMs() <= 0) return record;
    else await clock.sleep(Math.min(WAIT_STEP_MS, deadline - clock.elapsedMs()));
  }
}

/** Resolves after `ms`, or as soon as `until` settles. */
async function sleepUnless(clock: Clock, until: Promise<unknown> | null, ms: number): Promise<void> {
  const settled = new AbortController();
  until?.then(
    () => settled.abort(),
    () => settled.abort(),
  );
  await clock.sleep(ms, settled.signal);
}

/** The operation as recorded; a running one whose process is gone is reported (and recorded) as failed. */
export async function getOperation(id: string, deps: OperationDeps): Promise<OperationRecord> {
  const record = await deps.store.get(id);
  if (!record) throw operationNotFound(id);
  if (record.state === 'running' && isStale(record, deps.clock)) {
    await failStaleOperations(deps);
    return (await deps.store.get(id)) ?? record;
  }
  return record;
}

export async function listOperations(deps: OperationDeps, limit = 20): Promise<OperationRecord[]> {
  if ((await deps.store.recent(limit)).some((r) => r.state === 'running' && isStale(r, deps.clock)))
    await failStaleOperations(deps);
  return deps.store.recent(limit);
}

/** Operations that show no sign of life for STALE_AFTER_MS: their process died. */
export async function failStaleOperations(deps: OperationDeps): Promise<number> {
  const now = deps.clock.now();
  const failed = await deps.store.failStale(
    new Date(now.getTime() - STALE_AFTER_MS),
    now,
    interruptedOutcome(
      `The server process running it stopped answering (no sign of life for ${STALE_AFTER_MS / 1000} s).`,
    ),
  );
  for (const r of failed)
    deps.logger.warn(`Operation ${r.id} (${r.kind}) of ${r.owner} is gone: marked failed.`);
  return failed.length;
}

/**
 * At start-up, while no backup or restore holds the lock anywhere: every operation still recorded as running
 * was interrupted by a stopped server.
 */
export async function failInterruptedOperations(deps: OperationDeps): Promise<number> {
  const now = deps.clock.now();
  const failed = await deps.store.failStale(
    new Date(now.getTime() + 1),
    now,
    interruptedOutcome(
      `The server stopped while it ran; a server that started at ${now.toISOString()} found it unfinished.`,
    ),
  );
  for (const r of failed) {
    deps.logger.warn(
      `Operation ${r.id} (${r.kind}, started ${r.startedAt}) was interrupted by a server stop: marked failed.`,
    );
  }
  return failed.length;
}

export function interruptedOutcome(reason: string): OperationOutcome {
  const problem = {
    type: 'about:blank',
    title: 'OPERATION.INTERRUPTED',
    status: 500,
    code: 'OPERATION.INTERRUPTED',
    detail: `The operation did not finish: ${reason}`,
    suggestion:
      'A restore that was cut off leaves the previous database in place (see the server log). Run the command again.',
  };
  return { status: 500, body: JSON.stringify(problem) };
}

function isStale(record: OperationRecord, clock: Clock): boolean {
  return Date.parse(record.updatedAt) < clock.now().getTime() - STALE_AFTER_MS;
}

function checkSameRequest(earlier: OperationRecord, request: StartRequest): OperationRecord {
  if (earlier.kind === request.kind && sameParams(earlier.params, request.params)) return earlier;
  throw new AppError(
    'OPERATION.KEY_REUSED',
    'conflict',
    `The idempotency key was already used for another request (operation ${earlier.id}, ${earlier.kind}).`,
    { suggestion: 'Send a new Idempotency-Key for a new request; reuse a key only to retry the same one.' },
  );
}

function sameParams(a: Record<string, unknown>, b: Record<string, unknown>): boolean {
  const canonical = (o: Record<string, unknown>) =>
    JSON.stringify(
      Object.keys(o)
        .sort()
        .map((k) => [k, o[k] ?? null]),
    );
  return canonical(a) === canonical(b);
}

function operationNotFound(id: string): AppError {
  return new AppError('OPERATION.NOT_FOUND', 'not_found', `There is no operation '${id}' on this server.`, {
    suggestion: 'List the recent operations with `bomnipotent_client database-backup status`.',
  });
}
