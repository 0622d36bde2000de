import { describe, expect, it } from 'vitest';
import { AppError } from '../../handlers/errors';
import {
  failInterruptedOperations,
  getOperation,
  listOperations,
  startOperation,
  STALE_AFTER_MS,
  waitForOperation,
  type OperationDeps,
} from '../../handlers/operations/run-operation';
import type { OperationOutcome } from '../../handlers/operations/model';
import type { ProgressReporter } from '../../handlers/ports/progress';
import type { Logger } from '../../handlers/ports/logger';
import { memoryOperationStore } from '../support/memory-operation-store';
import { systemClock } from '../../runtime/observability/system-clock';

function world() {
  let now = Date.parse('2026-11-30T10:00:00.000Z');
  let n = 0;
  const store = memoryOperationStore();
  const lines: string[] = [];
  const log = (message: string) => lines.push(message);
  const logger: Logger & { lines: string[] } = {
    lines,
    error: log,
    warn: log,
    info: log,
    debug: log,
    trace: log,
  };
  const observed: [string, string][] = [];
  const deps: OperationDeps = {
    store,
    clock: systemClock(() => new Date(now)),
    logger,
    newId: () => `00000000-0000-4000-8000-00000000000${(n += 1)}`,
    owner: 'test-host pid 1',
    metrics: { operationFinished: (kind, outcome) => observed.push([kind, outcome]) },
    describeFailure: (error) => ({
      status: error instanceof AppError && error.kind === 'conflict' ? 409 : 500,
      body: JSON.stringify({ code: error instanceof AppError ? error.code : 'INTERNAL' }),
    }),
  };
  return { deps, store, logger, observed, advance: (ms: number) => (now += ms) };
}

/** Work that runs until release() is called, reporting what it is told. */
function gatedWork(outcome: OperationOutcome | Error) {
  let release!: () => void;
  let reporter!: ProgressReporter;
  const gate = new Promise<void>((r) => (release = r));
  let calls = 0;
  const work = async (progress: ProgressReporter) => {
    calls += 1;
    reporter = progress;
    await gate;
    if (outcome instanceof Error) throw outcome;
    return outcome;
  };
  return { work, release: () => release(), progress: () => reporter, calls: () => calls };
}

const settle = () => new Promise((r) => setTimeout(r, 20));

describe('operation runner', () => {
  it('records a running operation with its progress, then the exact answer a plain request would get', async () => {
    const w = world();
    const g = gatedWork({ status: 201, body: '{"path":"/b/x.dump","a":1}' });
    const { record, attached } = await startOperation(
      { kind: 'backup', params: {}, user: 'admin', idempotencyKey: 'k1' },
      g.work,
      w.deps,
    );
    expect(attached).toBe(false);
    expect(record.state).toBe('running');
    await settle();
    g.progress().phase('dumping', 1000);
    g.progress().bytes(250);
    w.advance(1500);
    g.progress().bytes(400);
    await settle();
    const running = await getOperation(record.id, w.deps);
    expect(running).toMatchObject({ state: 'running', phase: 'dumping', bytesDone: 400, bytesTotal: 1000 });
    g.release();
    await settle();
    const done = await getOperation(record.id, w.deps);
    expect(done.state).toBe('succeeded');
    expect(done.outcome).toEqual({ status: 201, body: '{"path":"/b/x.dump","a":1}' });
    expect(w.observed).toEqual([['backup', 'succeeded']]);
  });

  it('records a failure as the problem the request would have got', async () => {
    const w = world();
    const g = gatedWork(new AppError('BACKUP.BUSY', 'conflict', 'busy'));
    const { record } = await startOperation(
      { kind: 'restore', params: { file: null, dryRun: false }, user: 'admin', idempotencyKey: null },
      g.work,
      w.deps,
    );
    g.release();
    await settle();
    const done = await getOperation(record.id, w.deps);
    expect(done.state).toBe('failed');
    expect(done.outcome).toEqual({ status: 409, body: '{"code":"BACKUP.BUSY"}' });
  });

  it('a retried start with the same idempotency key returns the same operation and runs the work once', async () => {
    const w = world();
    const g = gatedWork({ status: 201, body: '{}' });
    const request = { kind: 'backup' as const, params: {}, user: 'admin', idempotencyKey: 'same' };
    const first = await startOperation(request, g.work, w.deps);
    g.release();
    await settle();
    const again = await startOperation(request, g.work, w.deps);
    expect(again).toMatchObject({ attached: true, record: { id: first.record.id, state: 'succeeded' } });
    expect(g.calls()).toBe(1);
  });

  it('refuses an idempotency key reused for a different request', async () => {
    const w = world();
    const g = gatedWork({ status: 200, body: '{}' });
    await startOperation({ kind: 'backup', params: {}, user: 'admin', idempotencyKey: 'k' }, g.work, w.deps);
    await expect(
      startOperation(
        { kind: 'restore', params: { file: null, dryRun: false }, user: 'admin', idempotencyKey: 'k' },
        g.work,
        w.deps,
      ),
    ).rejects.toMatchObject({ code: 'OPERATION.KEY_REUSED' });
    g.release();
  });

  it('a second start of the same kind and parameters while one runs attaches to it', async () => {
    const w = world();
    const g = gatedWork({ status: 200, body: '{}' });
    const params = { file: null, dryRun: false };
    const first = await startOperation(
      { kind: 'restore', params, user: 'a', idempotencyKey: 'k1' },
      g.work,
      w.deps,
    );
    const second = await startOperation(
      { kind: 'restore', params, user: 'b', idempotencyKey: 'k2' },
      g.work,
      w.deps,
    );
    expect(second).toMatchObject({ attached: true, record: { id: first.record.id } });
    const other = await startOperation(
      { kind: 'restore', params: { file: null, dryRun: true }, user: 'a', idempotencyKey: 'k3' },
      g.work,
      w.deps,
    );
    expect(other.attached).toBe(false);
    g.release();
    await settle();
    expect(g.calls()).toBe(2);
  });

  it('a waiting poll rides out a moment in which the record is gone (a restore swap), then answers what it saw last', async () => {
    const w = world();
    const g = gatedWork({ status: 200, body: '{}' });
    const started = await startOperation(
      { kind: 'backup', params: {}, user: 'a', idempotencyKey: null },
      g.work,
      w.deps,
    );
    // Another replica's operation (no in-process promise to wait on); the record vanishes after the first look.
    const get = w.store.get.bind(w.store);
    let looks = 0;
    w.store.get = async (id) => ((looks += 1) === 1 ? get(id) : null);
    const answer = await waitForOperation(started.record.id, w.deps, 600);
    expect(looks).toBeGreaterThan(1);
    expect(answer).toMatchObject({ id: started.record.id, state: 'running' });
    // Back: the next look finds it, and an ended operation is answered as soon as it is seen.
    w.store.get = get;
    g.release();
    await settle();
    expect((await waitForOperation(started.record.id, w.deps, 600)).state).toBe('succeeded');
  });

  it('an unknown id is OPERATION.NOT_FOUND', async () => {
    await expect(getOperation('nope', world().deps)).rejects.toMatchObject({
      code: 'OPERATION.NOT_FOUND',
      kind: 'not_found',
    });
  });

  it('a running record without a sign of life is reported failed, with the reason', async () => {
    const w = world();
    const now = new Date(w.deps.clock.now().getTime() - STALE_AFTER_MS - 1000).toISOString();
    await w.store.save({
      id: 'gone',
      kind: 'backup',
      params: {},
      user: null,
      idempotencyKey: null,
      state: 'running',
      phase: 'dumping',
      bytesDone: 5,
      bytesTotal: 10,
      startedAt: now,
      updatedAt: now,
      finishedAt: null,
      owner: 'other-host pid 9',
      outcome: null,
    });
    const [listed] = await listOperations(w.deps);
    expect(listed?.state).toBe('failed');
    expect(JSON.parse(listed?.outcome?.body ?? '{}')).toMatchObject({ code: 'OPERATION.INTERRUPTED' });
  });

  it('at start-up every running record is marked interrupted, and finished ones are left alone', async () => {
    const w = world();
    const g = gatedWork({ status: 201, body: '{}' });
    const { record } = await startOperation(
      { kind: 'backup', params: {}, user: 'a', idempotencyKey: null },
      g.work,
      w.deps,
    );
    expect(await failInterruptedOperations(w.deps)).toBe(1);
    const failed = await getOperation(record.id, w.deps);
    expect(failed.state).toBe('failed');
    expect(JSON.parse(failed.outcome?.body ?? '{}').detail).toMatch(/The server stopped while it ran/);
    expect(w.logger.lines.join('\n')).toMatch(/was interrupted by a server stop/);
    expect(await failInterruptedOperations(w.deps)).toBe(0);
    g.release();
  });

  it('logs progress at most every 10 s however often it is reported', async () => {
    const w = world();
    const g = gatedWork({ status: 201, body: '{}' });
    await startOperation({ kind: 'backup', params: {}, user: 'a', idempotencyKey: null }, g.work, w.deps);
    await settle();
    g.progress().phase('dumping', 100 * 1024 * 1024);
    for (let second = 1; second <= 25; second += 1) {
      w.advance(1000);
      for (let i = 0; i < 10; i += 1) g.progress().bytes(second * 4 * 1024 * 1024 + i);
    }
    const progressLines = w.logger.lines.filter((l) => /: dumping \d+% \(/.test(l));
    expect(progressLines).toHaveLength(2); // at 10 s and at 20 s
    expect(progressLines[0]).toMatch(/dumping 40% \(40\.0 MB of 100\.0 MB\), 10(\.0)? seconds elapsed/);
    g.release();
  });
});
