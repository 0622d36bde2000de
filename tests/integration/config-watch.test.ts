// Hot reload against the real file system: valid changes apply, broken ones are logged and ignored, db_url stays.
import { mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, it, expect, vi } from 'vitest';
import type { Config } from '../../runtime/config';
import { loadConfig, watchConfig } from '../../runtime/config';
import type { Logger } from '../../handlers/ports/logger';

interface Recorded {
  logger: Logger;
  lines: string[];
}

function recordingLogger(): Recorded {
  const lines: string[] = [];
  const at = (level: string) => (message: string) => lines.push(`[${level}] ${message}`);
  return {
    lines,
    logger: {
      error: at('ERROR'),
      warn: at('WARN'),
      info: at('INFO'),
      debug: at('DEBUG'),
      trace: at('TRACE'),
    },
  };
}

const closers: (() => void)[] = [];
afterEach(() => {
  for (const close of closers.splice(0)) close();
});

function setUp(initial: string, dotenv?: string) {
  const dir = mkdtempSync(join(tmpdir(), 'config-watch-'));
  const file = join(dir, 'config.toml');
  writeFileSync(file, initial);
  if (dotenv !== undefined) writeFileSync(join(dir, '.env'), dotenv);
  const { logger, lines } = recordingLogger();
  const reloads: { next: Config; previous: Config }[] = [];
  const watcher = watchConfig(file, {
    env: {},
    logger,
    onReload: (next, previous) => reloads.push({ next, previous }),
  });
  closers.push(() => watcher.close());
  return { dir, file, lines, reloads };
}

/** Editors save by writing a temporary file and renaming it over the original. */
function replaceFile(file: string, text: string): void {
  writeFileSync(`${file}.tmp`, text);
  renameSync(`${file}.tmp`, file);
}

/** How long a reload may take to be seen, and how often to look. */
const SOON = { timeout: 5000, interval: 50 };

describe('watchConfig', () => {
  it('reloads a valid change and logs the exact line', async () => {
    const { file, lines, reloads } = setUp('http_port = 8080\n');
    replaceFile(file, 'http_port = 9090\n');
    await vi.waitFor(() => expect(reloads).toHaveLength(1), SOON);
    expect(reloads[0]?.next.httpPort).toBe(9090);
    expect(reloads[0]?.previous.httpPort).toBe(8080);
    expect(lines).toContain(`[INFO] Configuration successfully reloaded from "${file}"`);
  });

  it('keeps the previous configuration on a broken file and picks up the next valid one', async () => {
    const { file, lines, reloads } = setUp('http_port = 8080\n');
    writeFileSync(file, 'http_port = = 1\n');
    await vi.waitFor(() => expect(lines.some((l) => l.startsWith('[ERROR]'))).toBe(true), SOON);
    const error = lines.find((l) => l.startsWith('[ERROR]'));
    expect(error).toMatch(
      new RegExp(
        `^\\[ERROR\\] Failed to reload configuration from "${file}": Invalid TOML in .* at line 1, column \\d+: `,
      ),
    );
    expect(error).toMatch(/\. The previous configuration stays in force\.$/);
    expect(reloads).toHaveLength(0);

    writeFileSync(file, 'http_port = 7070\n');
    await vi.waitFor(() => expect(reloads).toHaveLength(1), SOON);
    expect(reloads[0]?.previous.httpPort).toBe(8080);
    expect(reloads[0]?.next.httpPort).toBe(7070);
  });

  it('reports an invalid key on reload with the key named', async () => {
    const { file, lines, reloads } = setUp('http_port = 8080\n');
    replaceFile(file, 'http_prot = 8081\n');
    await vi.waitFor(() => expect(lines.some((l) => l.includes('unknown key "http_prot"'))).toBe(true), SOON);
    expect(reloads).toHaveLength(0);
  });

  it('keeps the old db_url with a warning that a restart is needed', async () => {
    const { file, lines, reloads } = setUp('db_url = "postgres://bom:OldPw123@old-host/bom"\n');
    replaceFile(file, 'db_url = "postgres://bom:NewPw456@new-host/bom"\nhttp_port = 8081\n');
    await vi.waitFor(() => expect(reloads).toHaveLength(1), SOON);
    expect(reloads[0]?.next.dbUrl).toBe('postgres://bom:OldPw123@old-host/bom');
    expect(reloads[0]?.next.httpPort).toBe(8081);
    expect(Object.isFrozen(reloads[0]?.next)).toBe(true);
    const warning = lines.find((l) => l.startsWith('[WARN]'));
    expect(warning).toContain('db_url changed');
    expect(warning).toContain('restart');
    expect(lines.join('\n')).not.toMatch(/OldPw123|NewPw456/);
  });

  it('re-reads .env and ignores unrelated files and unchanged content', async () => {
    const { dir, file, lines, reloads } = setUp('domain = "${DOMAIN}"\n', 'DOMAIN=first.example\n');
    writeFileSync(join(dir, 'unrelated.txt'), 'x');
    writeFileSync(file, 'domain = "${DOMAIN}"\n'); // byte-identical: no reload
    await new Promise((r) => setTimeout(r, 400));
    expect(reloads).toHaveLength(0);
    expect(lines).toEqual([]);

    writeFileSync(join(dir, '.env'), 'DOMAIN=second.example\n');
    await vi.waitFor(() => expect(reloads).toHaveLength(1), SOON);
    expect(reloads[0]?.previous.domain).toBe('first.example');
    expect(reloads[0]?.next.domain).toBe('second.example');
  });

  it('stops after close()', async () => {
    const { file, reloads } = setUp('http_port = 8080\n');
    closers.pop()!();
    replaceFile(file, 'http_port = 9999\n');
    await new Promise((r) => setTimeout(r, 400));
    expect(reloads).toHaveLength(0);
    expect(loadConfig(file, {}).httpPort).toBe(9999);
  });
});

describe('watchConfig with an accept check', () => {
  it('reports a rejected config as a failed reload, keeps the old one, and retries the same content later', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'config-watch-accept-'));
    const file = join(dir, 'config.toml');
    writeFileSync(file, 'http_port = 8080\n');
    const { logger, lines } = recordingLogger();
    const reloads: Config[] = [];
    let userExists = false;
    const watcher = watchConfig(file, {
      env: {},
      logger,
      accept: async (next) => {
        if (next.user.tmpAdmin && !userExists)
          throw new Error(`tmp_admin '${next.user.tmpAdmin}' is not a user yet.`);
      },
      onReload: (next) => void reloads.push(next),
    });
    closers.push(() => watcher.close());

    const withAdmin = `http_port = 8080\n[user]\ntmp_admin = "admin@example.com:SHA256:${'A'.repeat(43)}"\n`;
    replaceFile(file, withAdmin);
    await vi.waitFor(() => expect(lines.some((l) => l.startsWith('[ERROR] Failed to reload'))).toBe(true), {
      timeout: 5_000,
    });
    expect(lines.join('\n')).toContain("tmp_admin 'admin@example.com' is not a user yet");
    expect(lines.some((l) => l.includes('successfully reloaded'))).toBe(false);
    expect(reloads).toEqual([]);

    userExists = true;
    replaceFile(file, withAdmin); // the same content, saved again
    await vi.waitFor(() => expect(reloads).toHaveLength(1), { timeout: 5_000 });
    expect(reloads[0]!.user.tmpAdmin).toBe('admin@example.com');
    expect(lines.filter((l) => l.includes('successfully reloaded'))).toHaveLength(1);
  });
});
