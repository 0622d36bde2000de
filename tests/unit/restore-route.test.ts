import { describe, it, expect } from 'vitest';
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../../runtime/http/env';
import { createFakeWorld, DIR } from '../support/restore-fakes';
import { backupTestApp } from '../support/test-app';

/** Test authentication: the x-test-user header names the caller, x-test-admin makes them an admin. */
const authenticate: MiddlewareHandler<AppEnv> = async (c, next) => {
  const name = c.req.header('x-test-user');
  c.set(
    'principal',
    name
      ? { name, roles: [], permissions: new Set<string>(), isAdmin: c.req.header('x-test-admin') === 'yes' }
      : undefined,
  );
  await next();
};

function appFor(world: ReturnType<typeof createFakeWorld>) {
  return backupTestApp(world.ctx, authenticate);
}

const admin = {
  'x-test-user': 'root@example.com',
  'x-test-admin': 'yes',
  'content-type': 'application/json',
};

describe('POST /database-backup/restore', () => {
  it('restores the latest backup for an admin and records who asked', async () => {
    const w = createFakeWorld();
    w.files.set('app_20260102_000000.dump', { content: 'new' });
    const res = await appFor(w).request('/database-backup/restore', {
      method: 'POST',
      headers: admin,
      body: '{}',
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      path: `${DIR}/app_20260102_000000.dump`,
      dryRun: false,
      metadata: { sha256: 'a'.repeat(64) },
    });
    expect(w.databases.get('app')).toBe('new');
    expect(w.audits[0]?.user).toBe('root@example.com');
  });

  it('passes file and dryRun through', async () => {
    const w = createFakeWorld();
    w.files.set('app_20260101_000000.dump', { content: 'older' });
    w.files.set('app_20260102_000000.dump', { content: 'new' });
    const res = await appFor(w).request('/database-backup/restore', {
      method: 'POST',
      headers: admin,
      body: JSON.stringify({ file: 'app_20260101_000000.dump', dryRun: true }),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ path: `${DIR}/app_20260101_000000.dump`, dryRun: true });
    expect(w.databases.get('app')).toBe('old');
  });

  it('refuses users without the admin role (403) and unsigned requests (401)', async () => {
    const w = createFakeWorld();
    w.files.set('app_20260102_000000.dump', { content: 'new' });
    const app = appFor(w);
    const forbidden = await app.request('/database-backup/restore', {
      method: 'POST',
      headers: { 'x-test-user': 'bob' },
      body: '{}',
    });
    expect(forbidden.status).toBe(403);
    const anonymous = await app.request('/database-backup/restore', { method: 'POST', body: '{}' });
    expect(anonymous.status).toBe(401);
    expect(w.databases.get('app')).toBe('old');
  });

  it('answers 400 for malformed bodies and bad file names, 404 when there is no backup', async () => {
    const w = createFakeWorld();
    const app = appFor(w);
    for (const body of ['{"dryRun":"yes"}', '{"file":3}', '{"unknown":true}', 'not json']) {
      const res = await app.request('/database-backup/restore', { method: 'POST', headers: admin, body });
      expect(res.status, body).toBe(400);
    }
    const bad = await app.request('/database-backup/restore', {
      method: 'POST',
      headers: admin,
      body: '{"file":"../x_20260101_000000.dump"}',
    });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ code: 'BACKUP.BAD_FILE_NAME' });
    const none = await app.request('/database-backup/restore', { method: 'POST', headers: admin, body: '' });
    expect(none.status).toBe(404);
    expect(await none.json()).toMatchObject({ code: 'BACKUP.NONE_FOUND' });
  });

  it('answers 409 with Retry-After while another backup or restore runs', async () => {
    const w = createFakeWorld();
    w.files.set('app_20260102_000000.dump', { content: 'new' });
    w.lockHeld.value = true;
    const res = await appFor(w).request('/database-backup/restore', {
      method: 'POST',
      headers: admin,
      body: '{}',
    });
    expect(res.status).toBe(409);
    expect(res.headers.get('retry-after')).toBe('10');
  });

  it('while the scratch copy is built, reads pass and writes get 503; during the swap everything but /health gets 503', async () => {
    const w = createFakeWorld();
    w.files.set('app_20260102_000000.dump', { content: 'new' });
    const app = appFor(w);
    app.get('/probe', (c) => c.text('read ok'));
    app.post('/probe', (c) => c.text('write ok'));
    const seen: Record<string, number[]> = {};
    const probe = async (phase: string) => {
      const read = await app.request('/probe');
      const write = await app.request('/probe', { method: 'POST' });
      const health = await app.request('/health');
      seen[phase] = [read.status, write.status, health.status];
      if (write.status === 503) expect(write.headers.get('retry-after')).toBeTruthy();
    };
    const { restoreBackup } = await import('../../handlers/backup/restore-backup');
    await restoreBackup({ user: 'a' }, w.ctx, { reached: probe });
    await probe('after');
    expect(seen).toEqual({
      scratch: [200, 503, 200],
      swap: [503, 503, 200],
      swapped: [503, 503, 200],
      after: [200, 200, 200],
    });
  });
});
