// completely-restore typed at a real terminal (a pty from `script`) shows what would be restored and asks; only
// `yes` restores, and then exactly the previewed file. Off a terminal (a pipe) nothing is asked: scripts keep working.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CLIENT_BIN } from '../support/server-process';
import { runClient } from '../support/terminal';

const FILE = 'bomnipotent_db_20260111_103024.dump.zst';
const PATH = `/backups/${FILE}`;
const QUESTION = `Replace the database with backup '${FILE}'? Type yes to go on: `;

/** A stand-in server that answers restores at once (200) and keeps the bodies it was sent. */
function fakeServer(sent: unknown[]): Server {
  return createServer((req, res) => {
    let text = '';
    req.on('data', (c: Buffer) => (text += c.toString()));
    req.on('end', () => {
      const body = JSON.parse(text || '{}') as { dryRun?: boolean };
      sent.push(body);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ path: PATH, dryRun: body.dryRun === true, metadata: {} }));
    });
  });
}

/** On a terminal, types `reply` once the question shows. */
const run = (command: string[], viaTerminal: boolean, reply: string) =>
  runClient(command, viaTerminal, { when: 'Type yes to go on', line: reply }).then((r) => ({
    out: r.out + r.err,
    code: r.code,
  }));

describe('completely-restore at a terminal', () => {
  const sent: unknown[] = [];
  let server: Server;
  let url: string;
  const client = (...args: string[]) => [process.execPath, CLIENT_BIN, '-d', url, ...args];

  beforeAll(async () => {
    server = fakeServer(sent);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  beforeEach(() => void sent.splice(0));
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('asks; an answer other than yes changes nothing', async () => {
    const result = await run(client('database-backup', 'completely-restore'), true, 'no');
    expect(result.out).toContain(QUESTION);
    expect(result.out).toContain('Restore cancelled at the question; nothing was changed.');
    expect(result.code).toBe(1);
    expect(sent).toEqual([{ dryRun: true }]);
  });

  it('on yes restores the previewed file, with the exact line', async () => {
    const result = await run(client('database-backup', 'completely-restore'), true, 'yes');
    expect(result.out).toContain(`[INFO] Successfully restored database from backup '${PATH}'.`);
    expect(result.code).toBe(0);
    expect(sent).toEqual([{ dryRun: true }, { file: FILE }]);
  });

  it('off a terminal nothing is asked: stdout is exactly the line', async () => {
    const result = await run(client('database-backup', 'completely-restore'), false, 'no');
    expect(result.out).toBe(`[INFO] Successfully restored database from backup '${PATH}'.\n`);
    expect(sent).toEqual([{}]);
  });
});
