// Maintenance mode: the gate's phases, and the count of writes in flight that a restore waits for.
import type { MiddlewareHandler } from 'hono';
import { describe, expect, it } from 'vitest';
import { createApp } from '../../runtime/http/app';
import type { AppEnv } from '../../runtime/http/env';
import { createLogger, silentLogger } from '../../runtime/observability/logger';
import { createMaintenanceMode } from '../../runtime/http/maintenance';
import type { AccountRouteDeps } from '../../runtime/routes/accounts';
import type { BackupRouteDeps } from '../../runtime/routes/backups';

describe('maintenance mode', () => {
  it('settles at once without writes, after the last write ends, and reports a timeout', async () => {
    const m = createMaintenanceMode();
    expect(await m.writesSettled(10)).toBe(true);
    const end = m.writeStarted();
    expect(await m.writesSettled(20)).toBe(false);
    const settled = m.writesSettled(5_000);
    end();
    end(); // ending twice counts once
    expect(await settled).toBe(true);
  });

  it('lets a write that passed the gate finish before a restore goes on, and refuses new writes meanwhile', async () => {
    const maintenance = createMaintenanceMode();
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    // stands in for a slow write: the request is past the gate and still running
    const authenticate: MiddlewareHandler<AppEnv> = async (c, next) => {
      if (c.req.header('x-slow')) await held;
      await next();
    };
    const app = createApp({
      logger: silentLogger(),
      health: { pingDatabase: async () => true },
      maintenance,
      authenticate,
      accounts: {} as AccountRouteDeps,
      backups: {} as BackupRouteDeps,
    });
    const slow = app.request('/anything', { method: 'POST', headers: { 'x-slow': '1' } });
    await new Promise((r) => setTimeout(r, 20));
    maintenance.set('read-only', 'a restore is preparing the new database');
    let settled = false;
    const waiting = maintenance.writesSettled(5_000).then((v) => (settled = v));

    const refused = await app.request('/other', { method: 'POST' });
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('5');
    expect((await app.request('/health')).status).toBe(200);
    expect(settled).toBe(false);

    release();
    expect((await slow).status).toBe(404); // it ran to its end (no such route), outside the restore
    await waiting;
    expect(settled).toBe(true);
  });

  it("logs the 503 of a restore's swap as INFO, not ERROR: it is expected", async () => {
    const maintenance = createMaintenanceMode();
    const lines: string[] = [];
    const app = createApp({
      logger: createLogger({ level: 'debug', write: (line) => lines.push(line) }),
      health: { pingDatabase: async () => true },
      maintenance,
      authenticate: async (_c, next) => next(),
      accounts: {} as AccountRouteDeps,
      backups: {} as BackupRouteDeps,
    });
    maintenance.set('unavailable', 'a restore is swapping the database in');
    const answer = await app.request('/operations/x');
    expect(answer.status).toBe(503);
    expect(lines.filter((l) => l.includes('503'))).toEqual([
      expect.stringMatching(
        /\[INFO\] GET \/operations\/x -> 503 SERVER\.MAINTENANCE: The server is in maintenance/,
      ),
    ]);
    expect(lines.join('\n')).not.toContain('[ERROR]');
  });
});
