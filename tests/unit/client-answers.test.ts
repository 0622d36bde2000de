// The client reads each answer through the shared route table's schema: an answer of another shape is a clear error
// that names the route and the field (not a TypeError further on), and a server from before the /database-backup
// rename is still read through the former path.
import { http, HttpResponse } from 'msw';
import { describe, expect, it } from 'vitest';
import { BASE, mockServer, runAgainstMock } from '../support/msw-client';

const server = mockServer();

const run = runAgainstMock;
const CHECK = 'Check that the client and the server are the same version (bomnipotent_client --version).';

const backup = {
  file: 'bomnipotent_db_20260111_103024.dump',
  takenAt: '2026-01-11T10:30:24.000Z',
  sizeBytes: 2048,
  trigger: 'manual',
  user: 'admin@example.com',
  verified: true,
};

describe('an answer of another shape', () => {
  it('names the route and the field when a listed backup has a size that is not a number', async () => {
    const listing = { backups: [backup, { ...backup, sizeBytes: '2 KB' }] };
    server.use(http.get(`${BASE}/database-backup`, () => HttpResponse.json(listing)));
    const result = await run('database-backup', 'list');
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(
      `[ERROR] The server's answer to GET /database-backup is not what this client reads: ` +
        `backups[1].sizeBytes should be a number but is a string ("2 KB"). ${CHECK}\n`,
    );
    expect(result.exitCode).toBe(1);
  });

  it('says a field is missing, and which branch of a union got furthest', async () => {
    server.use(http.get(`${BASE}/who-am-i`, () => HttpResponse.json({ roles: [] })));
    const who = await run('who-am-i');
    expect(who.stderr).toContain(
      `answer to GET /who-am-i is not what this client reads: user should be a string but is missing.`,
    );
    expect(who.exitCode).toBe(1);
    const untrusted = { ...backup, rehearsal: { state: 'untrusted' } };
    server.use(http.get(`${BASE}/database-backup`, () => HttpResponse.json({ backups: [untrusted] })));
    const list = await run('database-backup', 'list');
    expect(list.stderr).toContain(': backups[0].rehearsal.reason should be a string but is missing.');
    expect(list.exitCode).toBe(1);
  });

  it('names the operation route when a poll answers a state the client does not know', async () => {
    const id = '6f1c2a4e-1111-4222-8333-444455556666';
    const operation = {
      id,
      location: `/database-backup/operations/${id}`,
      kind: 'backup',
      params: {},
      user: 'admin@example.com',
      state: 'paused',
      phase: 'dumping',
      bytesDone: null,
      bytesTotal: null,
      startedAt: '2026-11-30T10:00:00.000Z',
      finishedAt: null,
      result: null,
    };
    server.use(http.get(`${BASE}/database-backup/operations/${id}`, () => HttpResponse.json(operation)));
    const result = await run('database-backup', 'status', id);
    expect(result.stderr).toBe(
      `[ERROR] The server's answer to GET /database-backup/operations/:id is not what this client reads: ` +
        `state is "paused", not one of "running", "succeeded", "failed". ${CHECK}\n`,
    );
    expect(result.exitCode).toBe(1);
  });

  it('says so when the body is not JSON at all', async () => {
    server.use(http.post(`${BASE}/database-backup/verify`, () => HttpResponse.text('<html>proxy</html>')));
    const result = await run('database-backup', 'verify');
    expect(result.stderr).toContain(
      'answer to POST /database-backup/verify is not what this client reads: the body should be an object but is missing.',
    );
    expect(result.exitCode).toBe(1);
  });
});

describe('a server from before the /database-backup rename', () => {
  const notFound = (path: string) => () =>
    HttpResponse.json({ code: 'REQUEST.NOT_FOUND', detail: `No route for ${path}.` }, { status: 404 });

  it('is asked again under the former path (/database-backups) when the new one is not found', async () => {
    const asked: string[] = [];
    server.use(
      http.get(`${BASE}/database-backup`, ({ request }) => {
        asked.push(new URL(request.url).pathname + new URL(request.url).search);
        return notFound('GET /database-backup')();
      }),
      http.get(`${BASE}/database-backups`, ({ request }) => {
        asked.push(new URL(request.url).pathname + new URL(request.url).search);
        return HttpResponse.json({ backups: [backup] });
      }),
      http.post(`${BASE}/database-backup/verify`, notFound('POST /database-backup/verify')),
      http.post(`${BASE}/database-backups/verify`, () =>
        HttpResponse.json({ results: [{ file: backup.file, state: 'trusted', ok: true, reason: null }] }),
      ),
    );
    const list = await run('database-backup', 'list', '--offsite');
    expect(list.stdout).toContain('Found 1 database backup(s), newest first:');
    expect(asked).toEqual(['/database-backup?offsite=only', '/database-backups?offsite=only']);
    const verify = await run('database-backup', 'verify');
    expect(verify.stdout).toBe('[INFO] All 1 backup(s) verify.\n✓ bomnipotent_db_20260111_103024.dump\n');
  });

  it('is not asked again for any other refusal', async () => {
    let former = 0;
    server.use(
      http.get(`${BASE}/database-backup`, () =>
        HttpResponse.json({ code: 'AUTH.FORBIDDEN', detail: 'Admins only.' }, { status: 403 }),
      ),
      http.get(`${BASE}/database-backups`, () => {
        former += 1;
        return HttpResponse.json({ backups: [] });
      }),
    );
    const result = await run('database-backup', 'list');
    expect(result.stderr).toBe('[ERROR] Admins only.\n');
    expect(former).toBe(0);
  });
});
