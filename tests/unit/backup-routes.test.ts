import type { MiddlewareHandler } from 'hono';
import { describe, expect, it } from 'vitest';
import { BACKUP_TASK_EXAMPLE } from '../../handlers/errors';
import { createApp } from '../../runtime/http/app';
import type { AppEnv } from '../../runtime/http/env';
import type { AccountRouteDeps } from '../../runtime/routes/accounts';
import { createMaintenanceMode } from '../../runtime/http/maintenance';
import { createMetricsRegistry } from '../../runtime/observability/metrics';
import { silentLogger } from '../../runtime/observability/logger';
import { fakeWorld, type FakeWorld } from './backup-fakes';
import { pathsOf, ROUTES } from '../../handlers/api/routes';

// Stands in for the signature check: the header names the user, "admin@..." users hold the admin role.
const fakeAuthenticate: MiddlewareHandler<AppEnv> = async (c, next) => {
  const user = c.req.header('x-test-user');
  c.set(
    'principal',
    user
      ? {
          name: user,
          roles: user.startsWith('admin') ? ['admin'] : [],
          permissions: new Set(),
          isAdmin: user.startsWith('admin'),
        }
      : undefined,
  );
  await next();
};

function appFor(world: FakeWorld) {
  const metrics = createMetricsRegistry();
  world.ctx.metrics = metrics;
  const app = createApp({
    logger: silentLogger(),
    health: { pingDatabase: async () => true },
    maintenance: createMaintenanceMode(),
    authenticate: fakeAuthenticate,
    accounts: {} as AccountRouteDeps, // no account routes are called here
    backups: { ctx: world.ctx, metrics },
  });
  return app;
}

const as = (user?: string) => (user ? { headers: { 'x-test-user': user } } : {});

describe('POST /database-backup', () => {
  it('answers 201 with the metadata and the absolute path', async () => {
    const world = fakeWorld();
    const res = await appFor(world).request('/database-backup', {
      method: 'POST',
      ...as('admin@example.com'),
    });
    expect(res.status).toBe(201);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      path: '/backups/bomnipotent_db_20260111_103024.dump',
      file: 'bomnipotent_db_20260111_103024.dump',
      trigger: 'manual',
      user: 'admin@example.com',
      format: 'bomnipotent-backup/2',
    });
  });

  it('refuses a user without the admin role with 403 and dumps nothing', async () => {
    const world = fakeWorld();
    const res = await appFor(world).request('/database-backup', { method: 'POST', ...as('bob@example.com') });
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({ code: 'AUTH.ADMIN_REQUIRED' });
    expect(world.executor.dumps).toEqual([]);
  });

  it('refuses an unsigned request with 401', async () => {
    const world = fakeWorld();
    const res = await appFor(world).request('/database-backup', { method: 'POST' });
    expect(res.status).toBe(401);
    expect(world.executor.dumps).toEqual([]);
  });

  it('says how to configure the task when it is missing (500, misconfigured)', async () => {
    const res = await appFor(fakeWorld(null)).request('/database-backup', {
      method: 'POST',
      ...as('admin@example.com'),
    });
    expect(res.status).toBe(500);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    const body = (await res.json()) as { code: string; suggestion: string };
    expect(body.code).toBe('BACKUP.TASK_NOT_CONFIGURED');
    expect(body.suggestion).toContain(BACKUP_TASK_EXAMPLE);
  });

  it('answers 409 BACKUP.BUSY with Retry-After while the lock is held', async () => {
    const world = fakeWorld();
    world.admin.lockHeld = true;
    const res = await appFor(world).request('/database-backup', {
      method: 'POST',
      ...as('admin@example.com'),
    });
    expect(res.status).toBe(409);
    expect(res.headers.get('retry-after')).toBe('10');
    expect(await res.json()).toMatchObject({ code: 'BACKUP.BUSY' });
  });
});

describe('GET /database-backup (formerly /database-backups)', () => {
  it('answers the list and the verify under the one name and the former one alike, as the route table says', async () => {
    const world = fakeWorld();
    world.executor.addBackup('bomnipotent_db_20260101_000000.dump');
    const app = appFor(world);
    const admin = as('admin@example.com');
    const lists: Response[] = [];
    for (const path of pathsOf(ROUTES.listBackups)) lists.push(await app.request(path, admin));
    const verifies: Response[] = [];
    for (const path of pathsOf(ROUTES.verifyBackups))
      verifies.push(await app.request(path, { method: 'POST', ...admin }));
    expect(pathsOf(ROUTES.listBackups)).toEqual(['/database-backup', '/database-backups']);
    expect(pathsOf(ROUTES.verifyBackups)).toEqual(['/database-backup/verify', '/database-backups/verify']);
    for (const res of [...lists, ...verifies]) expect(res.status).toBe(200);
    const [list, formerList] = await Promise.all(lists.map((res) => res.json()));
    expect(formerList).toEqual(list);
    // What the server answers is what the client reads: the shared schemas take it.
    expect(ROUTES.listBackups.answer.parse(list).backups.map((b) => b.file)).toEqual([
      'bomnipotent_db_20260101_000000.dump',
    ]);
    for (const res of verifies) {
      const { results } = ROUTES.verifyBackups.answer.parse(await res.json());
      expect(results.map((r) => [r.file, r.ok])).toEqual([['bomnipotent_db_20260101_000000.dump', true]]);
    }
  });

  it('lists the backups for an admin', async () => {
    const world = fakeWorld();
    world.executor.addBackup('bomnipotent_db_20260101_000000.dump');
    world.executor.addBackup('bomnipotent_db_20260102_000000.dump', { broken: 'checksum mismatch' });
    const res = await appFor(world).request('/database-backups', as('admin@example.com'));
    expect(res.status).toBe(200);
    const body = (await res.json()) as { backups: { file: string; verified: boolean; problem?: string }[] };
    expect(body.backups.map((b) => [b.file, b.verified, b.problem])).toEqual([
      ['bomnipotent_db_20260102_000000.dump', false, 'checksum mismatch'],
      ['bomnipotent_db_20260101_000000.dump', true, undefined],
    ]);
  });

  it('is for admins only', async () => {
    const app = appFor(fakeWorld());
    expect((await app.request('/database-backups', as('bob@example.com'))).status).toBe(403);
    expect((await app.request('/database-backups')).status).toBe(401);
  });
});

describe('GET /metrics', () => {
  it('serves the Prometheus text without authentication, reflecting a backup made through the API', async () => {
    const world = fakeWorld();
    const app = appFor(world);
    await app.request('/database-backup', { method: 'POST', ...as('admin@example.com') });
    const res = await app.request('/metrics');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain; version=0.0.4');
    const text = await res.text();
    expect(text).toContain('bomnipotent_backup_success_total 1\n');
    expect(text).toContain('bomnipotent_backup_last_size_bytes 2048\n');
  });
});

describe('POST /database-backup/rehearse with pitr', () => {
  it('refuses pitr together with a file (400), and rehearses nothing', async () => {
    const world = fakeWorld();
    const res = await appFor(world).request('/database-backup/rehearse', {
      method: 'POST',
      headers: { 'x-test-user': 'admin@example.com', 'content-type': 'application/json' },
      body: JSON.stringify({ pitr: true, file: 'bomnipotent_db_20260111_103024.dump' }),
    });
    expect(res.status).toBe(400);
    expect(JSON.stringify(await res.json())).toContain('pitr and file exclude each other');
  });

  it('says that continuous protection is off (PITR.OFF) without it', async () => {
    const world = fakeWorld();
    const res = await appFor(world).request('/database-backup/rehearse', {
      method: 'POST',
      headers: { 'x-test-user': 'admin@example.com', 'content-type': 'application/json' },
      body: JSON.stringify({ pitr: true }),
    });
    expect(res.status).toBe(500);
    expect(await res.json()).toMatchObject({ code: 'PITR.OFF' });
  });
});
