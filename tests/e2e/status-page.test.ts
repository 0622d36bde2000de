// The status at a glance as an admin meets it: a server whose start-up backup is made and rehearsed but cannot be copied
// off-site (a store that refuses connections); the JSON answer (admin-signed only), `database-backup overview`, and
// the status page (status_page = true) as a real headless Chromium renders it: its text (--dump-dom) and a screenshot
// (--screenshot). The screenshot is kept in this test file's temporary folder, `$TMPDIR/status-page/status.png`
// (removed when the file ends; set STATUS_SCREENSHOT=<path> to get a copy that stays).
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BackupStatus } from '../../handlers/backup/status';
import { startE2eWorld, type E2eWorld } from '../support/e2e-world';
import { startHttpReceiver, type HttpReceiver } from '../support/notify-receivers';
import { until } from '../support/until';

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const WIDTH = 1100;
const HEIGHT = 1000;

/** Headless Chromium with nothing of its own on the network and a profile of its own; returns its stdout. */
async function chromium(args: string[]): Promise<string> {
  const profile = mkdtempSync(join(tmpdir(), 'chromium-profile-'));
  const { stdout } = await promisify(execFile)(
    CHROMIUM,
    [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      `--user-data-dir=${profile}`,
      ...args,
    ],
    { timeout: 90_000, maxBuffer: 16 * 1024 * 1024 },
  );
  return stdout;
}

describe('the status at a glance', () => {
  let world: E2eWorld;
  let http: HttpReceiver;

  beforeAll(async () => {
    http = await startHttpReceiver();
    const dead = await startHttpReceiver();
    const deadPort = new URL(dead.url).port;
    await dead.close();
    world = await startE2eWorld({
      prefix: 'st',
      root: 'status_page = true\n',
      task:
        `period = "1 hour"\nscheduled = true\nrehearse = true\noffsite = "s3://nowhere/status/"\n` +
        `s3_endpoint = "http://127.0.0.1:${deadPort}"\ns3_region = "us-east-1"\ns3_force_path_style = true\n` +
        `[[notify]]\nurl = "${http.url}/hook"\nsecret = "\${HOOK_SECRET}"\n`,
      env: {
        AWS_ACCESS_KEY_ID: 'test',
        AWS_SECRET_ACCESS_KEY: 'status-test-secret-key',
        HOOK_SECRET: 'status-hook-secret',
      },
      ready: { line: /Off-site copy to s3:\/\/nowhere\/status\/ failed/, timeoutMs: 60_000 },
    });
    await world.bootstrapAdmin();
  }, 180_000);
  afterAll(async () => {
    await world?.stop();
    await http?.close();
  });

  const json = async () => {
    const raw = await world.asAdmin('-o', 'raw', 'database-backup', 'overview');
    return JSON.parse(raw.stdout) as BackupStatus;
  };

  it('answers the JSON to a signed admin only, and the overview command prints it', async () => {
    const unsigned = await fetch(`${world.server.url}/database-backup/status`);
    expect(unsigned.status).toBe(401);
    // The start-up backup's rehearsal runs in the background; the offsite problems are opened by the notifier (a
    // [[notify]] channel was told).
    const status = await until(
      'the rehearsal and the off-site problems',
      async () => {
        const s = await json();
        return s.lastRehearsal && s.problems.some((p) => p.kind === 'offsite_failed') ? s : undefined;
      },
      60_000,
    );
    expect(status).toMatchObject({ version: 1, database: world.db.name, overall: 'warning' });
    expect(status.lastGoodBackup).toMatchObject({ stale: false });
    expect(status.lastRehearsal).toMatchObject({ file: status.lastGoodBackup!.file, passed: true });
    expect(status.offsite).toMatchObject({
      location: 's3://nowhere/status/',
      read: false,
      lastCopy: { ok: false },
    });
    expect(status.nextRun).toMatchObject({ due: false, running: false });
    const nextIn = Date.parse(status.nextRun!.at) - Date.now();
    expect(nextIn).toBeGreaterThan(30 * 60_000);
    expect(nextIn).toBeLessThanOrEqual(3600_000);

    const overview = await world.asAdmin('database-backup', 'overview');
    expect(overview.code).toBe(1); // a problem is open
    expect(overview.stdout).toContain(`last good backup:   ${status.lastGoodBackup!.file}`);
    expect(overview.stdout).toMatch(/last rehearsal: +\S+ \(.+\) passed/);
    expect(overview.stdout).toMatch(/problem \(warning\) offsite_failed since /);
  });

  it('serves the page without a signature, read-only and without a secret, as Chromium shows it', async () => {
    const status = await json();
    const page = await fetch(`${world.server.url}/status`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.headers.get('content-security-policy')).toMatch(/^default-src 'none'; style-src 'sha256-/);
    const html = await page.text();
    for (const absent of [
      '<script',
      '<form',
      '<input',
      'status-test-secret-key',
      'status-hook-secret',
      http.url,
    ])
      expect(html).not.toContain(absent);

    const dom = await chromium([
      `--window-size=${WIDTH},${HEIGHT}`,
      '--dump-dom',
      `${world.server.url}/status`,
    ]);
    expect(dom).toContain(`<h1>Backups of ${world.db.name}</h1>`);
    expect(dom).toMatch(/id="overall">Warning: \d+ open problems?</);
    const row = (name: string) =>
      new RegExp(`<th scope="row">${name}</th><td>(.*?)</td></tr>`).exec(dom)?.[1] ?? '';
    expect(row('Last good backup')).toContain(status.lastGoodBackup!.file);
    expect(row('Last rehearsal')).toMatch(/: passed$/);
    expect(row('Off-site copies')).toMatch(
      /^s3:\/\/nowhere\/status\/: not read yet; last copy run .*failed: /,
    );
    expect(row('Next scheduled run')).toContain(`<time datetime="${status.nextRun!.at}">`);
    expect(row('Next scheduled run')).toMatch(/\(in \d+ minutes?( \d+ seconds?)?\) \(every 1 hour\)$/);
    expect(dom).toMatch(
      /<span class="kind">offsite_failed<\/span> since .*: The off-site copy to s3:\/\/nowhere\/status\/ failed/,
    );

    const shots = join(tmpdir(), 'status-page');
    const file = join(shots, 'status.png');
    mkdirSync(shots, { recursive: true });
    await chromium([
      `--window-size=${WIDTH},${HEIGHT}`,
      `--screenshot=${file}`,
      `${world.server.url}/status`,
    ]);
    expect(existsSync(file)).toBe(true);
    const png = readFileSync(file);
    expect(png.subarray(1, 4).toString()).toBe('PNG');
    // The IHDR chunk: the page was drawn at the window's size, and is not blank (a blank PNG of that size is ~5 KB).
    expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([WIDTH, HEIGHT]);
    expect(png.length).toBeGreaterThan(20_000);
    if (process.env.STATUS_SCREENSHOT) copyFileSync(file, process.env.STATUS_SCREENSHOT);
  }, 240_000);

  it('answers 404 at /status once status_page is off again; the JSON stays', async () => {
    await world.reloaded(world.baseConfig.replace('status_page = true\n', ''), 3);
    const page = await fetch(`${world.server.url}/status`);
    expect(page.status).toBe(404);
    expect(((await page.json()) as { detail: string }).detail).toBe('No route for GET /status.');
    expect((await json()).database).toBe(world.db.name);
  });
});
