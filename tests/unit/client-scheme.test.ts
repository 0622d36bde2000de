// A domain without a scheme (https) or https:// against a server that speaks plain HTTP: one line naming the server
// and the fix, not OpenSSL's dump over two lines, and no retries.
import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runClientProgram } from '../support/client-program';

describe('--domain against a plain HTTP server', () => {
  let server: Server;
  let port: number;
  let requests = 0;
  const home = mkdtempSync(join(tmpdir(), 'bomnipotent-scheme-'));

  beforeAll(async () => {
    server = createServer((_req, res) => {
      requests += 1;
      res.end('{"status":"ok"}');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    port = (server.address() as { port: number }).port;
  });
  afterAll(async () => {
    await new Promise((r) => server.close(r));
    rmSync(home, { recursive: true, force: true });
  });

  it.each([
    ['without a scheme', () => `127.0.0.1:${port}`],
    ['with https://', () => `https://127.0.0.1:${port}`],
  ])('%s: one line that names the server and says to use http://', async (_name, domain) => {
    const run = await runClientProgram(home, ['--domain', domain(), 'health']);
    expect(run.exitCode).not.toBe(0);
    expect(run.stdout).toBe('');
    expect(run.stderr).toBe(
      `[ERROR] The server at 127.0.0.1:${port} answered plain HTTP, not HTTPS: use --domain http://127.0.0.1:${port} (a domain without a scheme means https://).\n`,
    );
    expect(requests).toBe(0); // the TLS hello is not an HTTP request
  });

  it('http:// works against it', async () => {
    const run = await runClientProgram(home, ['--domain', `http://127.0.0.1:${port}`, 'health']);
    expect(run.stdout).toBe(`[INFO] The service at http://127.0.0.1:${port} is healthy.\n`);
  });
});

describe('a server that is not there', () => {
  it('is one line too', async () => {
    const dead = createServer();
    await new Promise<void>((r) => dead.listen(0, '127.0.0.1', () => r()));
    const { port } = dead.address() as { port: number };
    await new Promise((r) => dead.close(r));
    const home = mkdtempSync(join(tmpdir(), 'bomnipotent-scheme-'));
    try {
      const run = await runClientProgram(home, ['--domain', `http://127.0.0.1:${port}`, 'health']);
      expect(run.stderr).toMatch(
        new RegExp(
          `^\\[ERROR\\] Could not reach the server at http://127\\.0\\.0\\.1:${port}: .*ECONNREFUSED.*\\n$`,
        ),
      );
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});
