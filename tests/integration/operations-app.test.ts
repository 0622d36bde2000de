// Long operations over HTTP with the records in real PostgreSQL: 202 with the address and Retry-After, polling,
// idempotency keys and attaching across two app instances on one database (two replicas), unknown ids.
import type { MiddlewareHandler } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../runtime/http/app';
import { createDbHandle, type DbHandle } from '../../runtime/db/handle';
import { migrate } from '../../runtime/db/migrate';
import type { AppEnv } from '../../runtime/http/env';
import { silentLogger } from '../../runtime/observability/logger';
import { createMaintenanceMode } from '../../runtime/http/maintenance';
import { createMetricsRegistry } from '../../runtime/observability/metrics';
import { createOperationDeps } from '../../runtime/backups/operation-ports';
import type { AccountRouteDeps } from '../../runtime/routes/accounts';
import { createTestDatabase, type TestDatabase } from '../support/pg';
import { fakeWorld, type FakeWorld } from '../unit/backup-fakes';
import { systemClock } from '../../runtime/observability/system-clock';

const fakeAuthenticate: MiddlewareHandler<AppEnv> = async (c, next) => {
  const user = c.req.header('x-test-user');
  c.set(
    'principal',
    user ? { name: user, roles: ['admin'], permissions: new Set(), isAdmin: true } : undefined,
  );
  await next();
};

/** A dump that waits for release(), so that the operation is seen running. */
function gateDumps(world: FakeWorld): () => void {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const dump = world.executor.dump.bind(world.executor);
  world.executor.dump = async (request) => {
    request.onProgress?.(512);
    await gate;
    return dump(request);
  };
  return release;
}

describe('operations over HTTP with the records in PostgreSQL', () => {
  let db: TestDatabase;
  let handles: DbHandle[];
  beforeAll(async () => {
    db = await createTestDatabase('ops_app');
    handles = [createDbHandle(db.url), createDbHandle(db.url)];
    await migrate(handles[0]!.pool(), silentLogger());
  });
  afterAll(async () => {
    for (const h of handles) await h.close();
    await db.drop();
  });

  /** One "replica": its own app and pool, the shared world (executor, lock) and database. */
  const replica = (world: FakeWorld, handle: DbHandle) => {
    const metrics = createMetricsRegistry({ processMetrics: false });
    const operations = createOperationDeps({
      db: handle,
      clock: world.ctx.clock,
      logger: silentLogger(),
      metrics,
    });
    return createApp({
      logger: silentLogger(),
      health: { pingDatabase: async () => true },
      maintenance: createMaintenanceMode(),
      authenticate: fakeAuthenticate,
      accounts: {} as AccountRouteDeps,
      backups: { ctx: world.ctx, metrics, operations },
    });
  };
  const start = (app: ReturnType<typeof replica>, key?: string) =>
    app.request('/database-backup', {
      method: 'POST',
      headers: {
        'x-test-user': 'admin@example.com',
        prefer: 'respond-async',
        ...(key ? { 'idempotency-key': key } : {}),
      },
    });
  const poll = async (app: ReturnType<typeof replica>, location: string) => {
    const res = await app.request(location, { headers: { 'x-test-user': 'admin@example.com' } });
    return { res, body: (await res.json()) as Record<string, unknown> };
  };

  it('answers 202 with the address and Retry-After; any replica answers the poll; the end carries the 201 answer', async () => {
    const world = fakeWorld();
    world.ctx.clock = systemClock(() => new Date());
    const release = gateDumps(world);
    const [a, b] = [replica(world, handles[0]!), replica(world, handles[1]!)];
    const res = await start(a, 'key-1');
    expect(res.status).toBe(202);
    const location = res.headers.get('location')!;
    expect(location).toMatch(/^\/database-backup\/operations\/[0-9a-f-]{36}$/);
    expect(res.headers.get('retry-after')).toBe('2');

    const retried = await start(b, 'key-1');
    expect([retried.status, retried.headers.get('location')]).toEqual([202, location]);
    const attached = await start(b);
    expect(attached.headers.get('location')).toBe(location);

    const running = await poll(b, location);
    expect(running.res.headers.get('retry-after')).toBe('2');
    expect(running.body).toMatchObject({ state: 'running', kind: 'backup', user: 'admin@example.com' });
    release();
    let done = running.body;
    for (let i = 0; i < 50 && done.state === 'running'; i += 1) {
      await new Promise((r) => setTimeout(r, 100));
      done = (await poll(b, location)).body;
    }
    expect(done.state).toBe('succeeded');
    expect(done.result).toMatchObject({
      status: 201,
      body: { trigger: 'manual', user: 'admin@example.com' },
    });
    expect(world.executor.dumps).toHaveLength(1);
    const list = await poll(a, '/database-backup/operations');
    expect((list.body.operations as { location: string }[]).map((o) => o.location)).toContain(location);
  });

  it('a waiting poll is answered the moment the operation ends, on the replica running it and on another one', async () => {
    const world = fakeWorld();
    world.ctx.clock = systemClock(() => new Date());
    const release = gateDumps(world);
    const [a, b] = [replica(world, handles[0]!), replica(world, handles[1]!)];
    const location = (await start(a)).headers.get('location')!;

    // Still running when the wait is over: answered after it, with its progress and Retry-After.
    let sent = Date.now();
    const running = await poll(b, `${location}?wait=0.4`);
    expect(Date.now() - sent).toBeGreaterThanOrEqual(390);
    expect([running.body.state, running.res.headers.get('retry-after')]).toEqual(['running', '2']);

    // Ends during the wait: answered at once, long before the 20 s asked for, on both replicas.
    sent = Date.now();
    const onA = poll(a, `${location}?wait=20`);
    const onB = poll(b, `${location}?wait=20`);
    await new Promise((r) => setTimeout(r, 300));
    release();
    const [doneA, doneB] = await Promise.all([onA, onB]);
    expect(Date.now() - sent).toBeLessThan(5_000);
    expect([doneA.body.state, doneB.body.state]).toEqual(['succeeded', 'succeeded']);
    expect(doneA.body.result).toMatchObject({ status: 201 });

    for (const wait of ['-1', '26', 'soon', '']) {
      const bad = await poll(a, `${location}?wait=${wait}`);
      expect([bad.res.status, bad.body.code], wait).toEqual([400, 'REQUEST.INVALID_WAIT']);
    }
  });

  it('a POST repeated with the same Idempotency-Key after the first operation finished starts nothing new', async () => {
    const world = fakeWorld();
    world.ctx.clock = systemClock(() => new Date());
    const [a, b] = [replica(world, handles[0]!), replica(world, handles[1]!)];
    const first = await start(a, 'finished-key');
    const location = first.headers.get('location')!;
    let done = (await poll(a, `${location}?wait=20`)).body;
    for (let i = 0; i < 50 && done.state === 'running'; i += 1)
      done = (await poll(a, `${location}?wait=1`)).body;
    expect(done.state).toBe('succeeded');
    expect(world.executor.dumps).toHaveLength(1);

    // The retry (the client's answer was lost, say) reaches the other replica after the work ended.
    const retried = await start(b, 'finished-key');
    expect([retried.status, retried.headers.get('location')]).toEqual([202, location]);
    expect(await retried.json()).toMatchObject({ state: 'succeeded', result: { status: 201 } });
    const list = await poll(a, '/database-backup/operations');
    const ids = (list.body.operations as { location: string }[]).map((o) => o.location);
    expect(ids.filter((l) => l === location)).toHaveLength(1);
    expect(world.executor.dumps).toHaveLength(1);
  });

  it('a failure is recorded as the problem the request would have got', async () => {
    const world = fakeWorld(null); // no backup task
    const res = await start(replica(world, handles[0]!));
    const location = res.headers.get('location')!;
    let body = (await poll(replica(world, handles[1]!), location)).body;
    for (let i = 0; i < 50 && body.state === 'running'; i += 1) {
      await new Promise((r) => setTimeout(r, 100));
      body = (await poll(replica(world, handles[1]!), location)).body;
    }
    expect(body).toMatchObject({
      state: 'failed',
      result: { status: 500, body: { code: 'BACKUP.TASK_NOT_CONFIGURED' } },
    });
  });

  it('an unknown or malformed id is a clear 404; a malformed key is a 400; without Prefer the answer is as before', async () => {
    const world = fakeWorld();
    const app = replica(world, handles[0]!);
    const unknown = await poll(app, '/database-backup/operations/00000000-0000-4000-8000-000000000000');
    expect([unknown.res.status, unknown.body.code]).toEqual([404, 'OPERATION.NOT_FOUND']);
    const malformed = await poll(app, '/database-backup/operations/..%2F..%2Fetc');
    expect([malformed.res.status, malformed.body.code]).toEqual([404, 'OPERATION.NOT_FOUND']);
    const badKey = await start(app, 'x'.repeat(201));
    expect(badKey.status).toBe(400);
    expect(world.executor.dumps).toEqual([]);
    const plain = await app.request('/database-backup', {
      method: 'POST',
      headers: { 'x-test-user': 'admin@example.com' },
    });
    expect(plain.status).toBe(201);
    expect(await plain.json()).toMatchObject({ trigger: 'manual' });
  });
});
