// Two events of docs/notifications.md caused for real across a server start, each seen at a real local receiver:
// staleness told by a server restarted after its backups went stale while it was down (not only by one that has no
// backup at all), and a PostgreSQL-side tool unusable at start (zstd missing while compression = "zstd").
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NotifyMessage } from '../../runtime/notify/message';
import { startE2eWorld, type E2eWorld } from '../support/e2e-world';
import { startHttpReceiver, type HttpReceiver } from '../support/notify-receivers';
import { startListening, type ServerProcess } from '../support/server-process';
import { until } from '../support/until';

const PERIOD_S = 10;

describe('staleness after a restart', () => {
  let world: E2eWorld;
  let http: HttpReceiver;
  let restarted: ServerProcess | undefined;
  const messages = () =>
    http.received.filter((r) => r.path === '/hook').map((r) => JSON.parse(r.body) as NotifyMessage);

  beforeAll(async () => {
    http = await startHttpReceiver();
    world = await startE2eWorld({
      prefix: 'nr',
      task: `period = "${PERIOD_S} s"\nscheduled = false\n[[notify]]\nurl = "${http.url}/hook"\n`,
    });
    await world.bootstrapAdmin();
  }, 120_000);
  afterAll(async () => {
    await restarted?.stop();
    await world?.stop();
    await http?.close();
  });

  it('is told by the restarted server within a check of its start, when the backups went stale while it was down', async () => {
    // No backup yet: told at the start (the problem opens); the backup then closes it before the server stops, so
    // that the restarted server's message is a new problem and not a repeat kept quiet.
    await until('no good backup', async () =>
      messages().some((m) => m.event === 'backup_stale' && m.state === 'problem') ? true : undefined,
    );
    expect((await world.asAdmin('database-backup', 'create')).code).toBe(0);
    const madeAt = Date.now();
    await until('fresh', async () =>
      messages().some((m) => m.event === 'backup_stale' && m.state === 'recovered') ? true : undefined,
    );
    await world.server.stop();
    const before = messages().length;
    // Down for longer than twice the period: the backup is stale when the server comes back.
    await new Promise((r) => setTimeout(r, Math.max(0, madeAt + 2 * PERIOD_S * 1000 + 1000 - Date.now())));
    const startedAt = Date.now();
    restarted = await startListening(world.configPath);
    const stale = await until(
      'backup_stale after the restart',
      async () =>
        messages()
          .slice(before)
          .find((m) => m.event === 'backup_stale' && m.state === 'problem'),
      30_000,
    );
    expect(stale).toMatchObject({ severity: 'critical', database: world.db.name });
    expect(stale.reason).toMatch(/older than twice the period/);
    // The first check runs a quarter period after the start: told within that and some slack for a loaded machine.
    expect(Date.parse(stale.at) - startedAt).toBeLessThan((PERIOD_S / 4) * 1000 + 10_000);
  }, 120_000);
});

describe('at start, a tool', () => {
  it('that is missing (zstd while compression = "zstd") is told: backups cannot run', async () => {
    const http = await startHttpReceiver();
    const emptyPath = mkdtempSync(join(tmpdir(), 'bomnipotent-e2e-nopath-'));
    const world = await startE2eWorld({
      prefix: 'nt',
      task: `scheduled = false\ncompression = "zstd"\n[[notify]]\nurl = "${http.url}/hook"\n`,
      env: { PATH: emptyPath },
    });
    try {
      const message = await until('startup_unusable', async () =>
        http.received
          .map((r) => JSON.parse(r.body) as NotifyMessage)
          .find((m) => m.event === 'startup_unusable'),
      );
      expect(message).toMatchObject({ severity: 'critical', state: 'problem' });
      expect(message.reason).toMatch(/^Backups cannot run: /);
      expect(message.reason).toContain('zstd');
    } finally {
      await world.stop();
      await http.close();
      rmSync(emptyPath, { recursive: true, force: true });
    }
  }, 60_000);
});
