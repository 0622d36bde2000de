// The events of docs/notifications.md caused for real on a server process, each seen at a real local receiver: the
// heartbeat (start, success, fail), staleness (no good backup within twice the period, also right after the start),
// a failed off-site copy, a backup that does not verify, a broken chain, a restore (started, succeeded, who asked),
// a restore that fails, a backup refused for want of disk space, and a signing key unusable at start.
import { execFileSync } from 'node:child_process';
import { appendFileSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NotifyMessage } from '../../runtime/notify/message';
import { ADMIN, startE2eWorld, type E2eWorld } from '../support/e2e-world';
import { adminQuery } from '../support/pg';
import { makeUnloadable } from '../support/unloadable-schema';
import { startHttpReceiver, type HttpReceiver } from '../support/notify-receivers';
import { until } from '../support/until';

describe('every event through the server', () => {
  let world: E2eWorld;
  let http: HttpReceiver;
  let deadPort: number;
  const messages = () =>
    http.received.filter((r) => r.path === '/hook').map((r) => JSON.parse(r.body) as NotifyMessage);
  const arrival = (what: string, match: (m: NotifyMessage) => boolean, timeoutMs = 10_000) =>
    until(what, async () => messages().find(match), timeoutMs);
  const pings = () => http.received.filter((r) => r.path.startsWith('/hb')).map((r) => `${r.path} ${r.body}`);

  beforeAll(async () => {
    http = await startHttpReceiver();
    const dead = await startHttpReceiver();
    deadPort = Number(new URL(dead.url).port);
    await dead.close();
    world = await startE2eWorld({
      prefix: 'ne',
      task:
        `period = "10 s"\nscheduled = false\nheartbeat_url = "${http.url}/hb"\n` +
        `offsite = "s3://nowhere/bomnipotent/"\ns3_endpoint = "http://127.0.0.1:${deadPort}"\n` +
        `s3_region = "us-east-1"\ns3_force_path_style = true\n` +
        `[[notify]]\nurl = "${http.url}/hook"\nreminder = "1 hour"\n`,
      env: { AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test-secret-key' },
    });
    await world.bootstrapAdmin();
  }, 120_000);
  afterAll(async () => {
    await world?.stop();
    await http?.close();
  });

  it('tells of no good backup right after the start, within a few seconds', async () => {
    const stale = await arrival('backup_stale', (m) => m.event === 'backup_stale' && m.state === 'problem');
    expect(stale).toMatchObject({ severity: 'critical', database: world.db.name });
    expect(stale.reason).toMatch(/^There is no good backup in /);
  });

  it('pings the heartbeat at start and success; off-site failure and staleness are told; fresh again after', async () => {
    const created = await world.asAdmin('database-backup', 'create');
    expect(created.code).toBe(0);
    await until('start and success pings', async () =>
      pings().includes('/hb/start ') && pings().includes('/hb ') ? true : undefined,
    );
    const offsite = await arrival('offsite_failed', (m) => m.event === 'offsite_failed', 30_000);
    expect(offsite.reason).toMatch(/^The off-site copy to s3:\/\/nowhere\/bomnipotent\/ failed/);
    await arrival('offsite_stale', (m) => m.event === 'offsite_stale', 30_000);
    await arrival('fresh again', (m) => m.event === 'backup_stale' && m.state === 'recovered');
    // No backup for twice the period (20 s): stale again, told within that, a check (2.5 s) and some slack.
    const madeAt = Date.now();
    const again = await arrival(
      'stale again',
      (m) => m.event === 'backup_stale' && m.state === 'problem' && Date.parse(m.at) > madeAt,
      45_000,
    );
    expect(Date.parse(again.at) - madeAt).toBeLessThan(20_000 + 2500 + 7500);
  });

  it('pings the heartbeat with the reason when a backup fails', async () => {
    rmSync(world.backups, { recursive: true, force: true });
    writeFileSync(world.backups, 'not a directory');
    try {
      expect((await world.asAdmin('database-backup', 'create')).code).toBe(1);
      const fail = await until('a fail ping', async () => pings().find((p) => p.startsWith('/hb/fail ')));
      expect(fail).toMatch(/^\/hb\/fail \S/);
    } finally {
      rmSync(world.backups, { force: true });
      mkdirSync(world.backups);
    }
  });

  it('tells of a backup that does not verify and of a broken chain', async () => {
    expect((await world.asAdmin('database-backup', 'create')).code).toBe(0);
    expect((await world.asAdmin('database-backup', 'create')).code).toBe(0);
    const files = readdirSync(world.backups)
      .filter((f) => f.endsWith('.zst'))
      .sort();
    appendFileSync(join(world.backups, files[0]!), 'garbage');
    expect((await world.asAdmin('database-backup', 'verify')).code).toBe(1);
    const bad = await arrival('verify_failed', (m) => m.event === 'verify_failed');
    expect(bad.backup).toBe(files[0]);

    const newest = files.at(-1)!;
    for (const f of readdirSync(world.backups).filter((f) =>
      f.startsWith(newest.replace(/\.dump\.zst$/, '')),
    ))
      rmSync(join(world.backups, f));
    await world.asAdmin('database-backup', 'list');
    const chain = await arrival('chain_broken', (m) => m.event === 'chain_broken');
    expect(chain.reason).toMatch(/^The chain of backups is broken or restarted: /);
  });

  it('tells that a restore started and succeeded, and who asked', async () => {
    const created = await world.asAdmin('-o', 'raw', 'database-backup', 'create');
    const { file } = JSON.parse(created.stdout) as { file: string };
    // --file: without it the restore first asks the (unreachable) off-site store for a newer backup.
    const restored = await world.asAdmin('database-backup', 'completely-restore', '--file', file);
    expect(restored.stderr).toBe('');
    expect(restored.code).toBe(0);
    const started = await arrival('restore_started', (m) => m.event === 'restore_started');
    const done = await arrival('restore_succeeded', (m) => m.event === 'restore_succeeded');
    expect(started.user).toBe(ADMIN);
    // The waiting messages and open problems were carried over into the restored database.
    expect(world.server.output()).not.toContain('Could not carry the waiting notifications');
    expect(done).toMatchObject({ user: ADMIN, severity: 'warning', database: world.db.name });
  });
});

describe('a restore that fails', () => {
  let world: E2eWorld;
  let http: HttpReceiver;
  beforeAll(async () => {
    http = await startHttpReceiver();
    world = await startE2eWorld({
      prefix: 'nf',
      task: `scheduled = false\n[[notify]]\nurl = "${http.url}/hook"\n`,
    });
    await world.bootstrapAdmin();
  }, 120_000);
  afterAll(async () => {
    await world?.stop();
    await http?.close();
  });

  it('is told, critical, with the reason and who asked; the data stays', async () => {
    await makeUnloadable(world.db.name); // verifies, does not load
    const created = await world.asAdmin('-o', 'raw', 'database-backup', 'create');
    const { file } = JSON.parse(created.stdout) as { file: string };
    await adminQuery('INSERT INTO z_refs VALUES (2)', [], world.db.name);
    const refused = await world.asAdmin('database-backup', 'completely-restore', '--file', file);
    expect(refused.code).toBe(1);
    const failed = await until(
      'restore_failed',
      async () =>
        http.received
          .filter((r) => r.path === '/hook')
          .map((r) => JSON.parse(r.body) as NotifyMessage)
          .find((m) => m.event === 'restore_failed'),
      10_000,
    );
    expect(failed).toMatchObject({
      severity: 'critical',
      user: ADMIN,
      backup: file,
      database: world.db.name,
    });
    expect(failed.reason).toMatch(/^The restore did not happen: .*a_uses_ref_check/);
    const kept = await adminQuery<{ n: string }>('SELECT count(*)::text AS n FROM z_refs', [], world.db.name);
    expect(kept.rows[0]?.n).toBe('2'); // the database as it was before the restore
  });
});

// The disk-space preflight refusing a backup: the backup directory on a 1 MiB tmpfs (mounting needs root), smaller
// than any database.
describe.runIf(process.getuid?.() === 0)('a backup refused for want of disk space', () => {
  let world: E2eWorld;
  let http: HttpReceiver;
  let mounted = false;
  beforeAll(async () => {
    http = await startHttpReceiver();
    world = await startE2eWorld({
      prefix: 'nd',
      task: `scheduled = false\n[[notify]]\nurl = "${http.url}/hook"\n`,
    });
    await world.bootstrapAdmin();
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', world.backups], { stdio: 'ignore' });
    mounted = true;
  }, 120_000);
  afterAll(async () => {
    await world?.stop();
    if (mounted) execFileSync('umount', ['-l', world.backups], { stdio: 'ignore' });
    await http?.close();
  });

  it('is told (disk_space, with the free and needed space) and no file is left', async () => {
    const refused = await world.asAdmin('database-backup', 'create');
    expect(refused.code).toBe(1);
    const told = await until(
      'disk_space',
      async () =>
        http.received
          .filter((r) => r.path === '/hook')
          .map((r) => JSON.parse(r.body) as NotifyMessage)
          .find((m) => m.event === 'disk_space'),
      10_000,
    );
    expect(told).toMatchObject({ severity: 'critical', database: world.db.name });
    expect(told.reason).toMatch(
      /^The backup was refused: Not enough free space for a backup in .* MB free, about .* MB needed/,
    );
    expect(readdirSync(world.backups).filter((f) => f.includes('.dump'))).toEqual([]);
  });
});

describe('at start', () => {
  it('tells that backups cannot run when the signing key is unusable', async () => {
    const http = await startHttpReceiver();
    const world = await startE2eWorld({
      prefix: 'nk',
      task: `scheduled = false\nsigning_key = "/nonexistent/key.pem"\n[[notify]]\nurl = "${http.url}/hook"\n`,
    });
    try {
      const message = await until('startup_unusable', async () =>
        http.received
          .map((r) => JSON.parse(r.body) as NotifyMessage)
          .find((m) => m.event === 'startup_unusable'),
      );
      expect(message.reason).toMatch(/^Backups cannot run: /);
      expect(message.reason).toContain('/nonexistent/key.pem');
    } finally {
      await world.stop();
      await http.close();
    }
  });
});
