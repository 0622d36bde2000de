// The progress bar appears only on a terminal (a real pty from `script`), in normal mode at info level; scripts
// (pipes, code mode, --log-level error) see exactly the old output.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLIENT_BIN } from '../support/server-process';
import { runClient as run } from '../support/terminal';

const PATH = '/b/bomnipotent_db_20260111_103024.dump';
const ID = '6f1c2a4e-1111-4222-8333-444455556666';
const LINE = `[INFO] Successfully stored database backup under '${PATH}'.`;

/** A stand-in server: a backup that reports growing bytes for a few polls, then succeeds. */
function fakeServer(): Server {
  const polls = new Map<string, number>();
  return createServer((req, res) => {
    const key = req.headers['idempotency-key'] as string | undefined;
    const count = (polls.get('n') ?? 0) + 1;
    polls.set('n', count);
    const done = req.method === 'GET' && count % 8 === 0;
    const body = {
      id: ID,
      location: `/database-backup/operations/${ID}`,
      kind: 'backup',
      state: done ? 'succeeded' : 'running',
      phase: 'dumping',
      bytesDone: (count % 8) * 1024 * 1024,
      bytesTotal: 8 * 1024 * 1024,
      startedAt: new Date().toISOString(),
      finishedAt: null,
      user: null,
      result: done ? { status: 201, body: { path: PATH } } : null,
    };
    if (req.method === 'POST') polls.set('n', 0);
    setTimeout(() => {
      res.writeHead(req.method === 'POST' && key ? 202 : 200, {
        'content-type': 'application/json',
        'retry-after': '0',
        location: body.location,
      });
      res.end(JSON.stringify(body));
    }, 250);
  });
}

describe('progress bar', () => {
  let server: Server;
  let url: string;
  const client = (...args: string[]) => [process.execPath, CLIENT_BIN, '-d', url, ...args];

  beforeAll(async () => {
    server = fakeServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('is drawn on a terminal with phase, percent and bytes, and the exact line follows', async () => {
    const result = await run(client('database-backup', 'create'), true);
    expect(result.code).toBe(0);
    expect(result.out).toMatch(/backup: dumping \| \[[█░]+\] \d+% \| [\d.]+ MB of 8\.0 MB/);
    expect(result.out).toMatch(/elapsed/);
    expect(result.out).toContain(`${LINE}\r\n`);
  });

  it('is not drawn off a terminal: stdout is exactly the line, stderr empty', async () => {
    const result = await run(client('database-backup', 'create'), false);
    expect([result.out, result.err, result.code]).toEqual([`${LINE}\n`, '', 0]);
  });

  it('is not drawn in code mode or with --log-level error, even on a terminal', async () => {
    const coded = await run(client('-o', 'code', 'database-backup', 'create'), true);
    expect(coded.out).toBe('201');
    const quiet = await run(client('-l', 'error', 'database-backup', 'create'), true);
    expect(quiet.out).toBe('');
    expect(quiet.code).toBe(0);
  });
});
