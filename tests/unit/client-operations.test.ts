// The client starts long operations (202 + polling) and prints exactly what it printed for a plain answer.
import { http, HttpResponse } from 'msw';
import { describe, expect, it } from 'vitest';
import { BASE, mockServer, runAgainstMock } from '../support/msw-client';

const PATH = '/etc/bomnipotent_server/backups/bomnipotent_db_20260111_103024.dump';
const ID = '6f1c2a4e-1111-4222-8333-444455556666';
const LOCATION = `/database-backup/operations/${ID}`;
const server = mockServer();

const run = runAgainstMock;
const metadata = { format: 'bomnipotent-backup/1', file: 'x.dump', sizeBytes: 2048, path: PATH };

function operation(state: string, result: { status: number; body: unknown } | null = null, bytesDone = 0) {
  return {
    id: ID,
    location: LOCATION,
    kind: 'backup',
    params: {},
    user: 'admin@example.com',
    state,
    phase: state === 'running' ? 'dumping' : 'applying retention',
    bytesDone,
    bytesTotal: 4096,
    startedAt: '2026-11-30T10:00:00.000Z',
    updatedAt: '2026-11-30T10:00:01.000Z',
    finishedAt: state === 'running' ? null : '2026-11-30T10:00:02.000Z',
    owner: 'host pid 1',
    result,
  };
}

/** POST answers 202; the polls answer with `polls` in turn (the last one repeats). */
function operationRoutes(path: string, polls: (() => Response)[], starts: Request[] = []) {
  let i = 0;
  return [
    http.post(`${BASE}${path}`, ({ request }) => {
      starts.push(request.clone());
      return HttpResponse.json(operation('running'), {
        status: 202,
        headers: { location: LOCATION, 'retry-after': '0' },
      });
    }),
    http.get(`${BASE}${LOCATION}`, () => (polls[Math.min(i++, polls.length - 1)] as () => Response)()),
  ];
}

const running = (bytes: number) => () =>
  HttpResponse.json(operation('running', null, bytes), { headers: { 'retry-after': '0' } });
const succeeded = (status: number, body: unknown) => () =>
  HttpResponse.json(operation('succeeded', { status, body }));

describe('a long operation followed to its end', () => {
  it('asks for an asynchronous answer with an idempotency key, then prints exactly the success line', async () => {
    const starts: Request[] = [];
    server.use(
      ...operationRoutes(
        '/database-backup',
        [running(1024), running(2048), succeeded(201, metadata)],
        starts,
      ),
    );
    const result = await run('database-backup', 'create');
    expect(result.stdout).toBe(`[INFO] Successfully stored database backup under '${PATH}'.\n`);
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    expect(starts[0]?.headers.get('prefer')).toBe('respond-async');
    expect(starts[0]?.headers.get('idempotency-key')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('prints the recorded body in raw mode and the recorded status in code mode', async () => {
    server.use(...operationRoutes('/database-backup', [succeeded(201, metadata)]));
    expect((await run('-o', 'raw', 'database-backup', 'create')).stdout).toBe(JSON.stringify(metadata));
    server.use(...operationRoutes('/database-backup', [succeeded(201, metadata)]));
    expect((await run('-o', 'code', 'database-backup', 'create')).stdout).toBe('201');
  });

  it('a failed restore prints the server message and suggestion and exits 1 (code mode: the code, exit 0)', async () => {
    const problem = {
      code: 'BACKUP.VERIFICATION_FAILED',
      status: 409,
      detail: `The backup '${PATH}' fails verification: checksum mismatch.`,
      suggestion: 'Nothing was changed.',
    };
    const failed = () => HttpResponse.json(operation('failed', { status: 409, body: problem }));
    server.use(...operationRoutes('/database-backup/restore', [running(1), failed]));
    const result = await run('database-backup', 'completely-restore');
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(`[ERROR] ${problem.detail}\n[ERROR] Nothing was changed.\n`);
    expect(result.exitCode).toBe(1);
    server.use(...operationRoutes('/database-backup/restore', [failed]));
    const coded = await run('-o', 'code', 'database-backup', 'completely-restore');
    expect([coded.stdout, coded.exitCode]).toEqual(['409', 0]);
  });

  it('keeps following through a cut connection and a 503 of the swap', async () => {
    const body = { path: PATH, dryRun: false, metadata: {} };
    server.use(
      ...operationRoutes('/database-backup/restore', [
        running(10),
        () => HttpResponse.error(),
        () =>
          HttpResponse.json(
            { code: 'SERVER.MAINTENANCE', detail: 'maintenance' },
            { status: 503, headers: { 'retry-after': '0' } },
          ),
        succeeded(200, body),
      ]),
    );
    const result = await run('database-backup', 'completely-restore');
    expect(result.stdout).toBe(`[INFO] Successfully restored database from backup '${PATH}'.\n`);
    expect(result.exitCode).toBe(0);
  });

  it('asks each poll to wait for the end, and learns it the moment the server answers', async () => {
    const waits: (string | null)[] = [];
    let finished = false;
    setTimeout(() => (finished = true), 200);
    server.use(
      http.post(`${BASE}/database-backup`, () =>
        HttpResponse.json(operation('running'), {
          status: 202,
          headers: { location: LOCATION, 'retry-after': '2' },
        }),
      ),
      http.get(`${BASE}${LOCATION}`, async ({ request }) => {
        waits.push(new URL(request.url).searchParams.get('wait'));
        // A server that waits: it answers when the operation ends (here after 200 ms), within the wait asked for.
        while (!finished) await new Promise((r) => setTimeout(r, 20));
        return HttpResponse.json(operation('succeeded', { status: 201, body: metadata }));
      }),
    );
    const started = Date.now();
    const result = await run('database-backup', 'create');
    expect(result.stdout).toBe(`[INFO] Successfully stored database backup under '${PATH}'.\n`);
    expect(waits).toEqual(['1.5']);
    expect(Date.now() - started).toBeLessThan(1_500); // not the server's Retry-After of 2 s
  });

  it('polls an older server that answers at once at its Retry-After, without asking it to wait again', async () => {
    const waits: (string | null)[] = [];
    let polls = 0;
    server.use(
      http.post(`${BASE}/database-backup`, () =>
        HttpResponse.json(operation('running'), {
          status: 202,
          headers: { location: LOCATION, 'retry-after': '0' },
        }),
      ),
      http.get(`${BASE}${LOCATION}`, ({ request }) => {
        waits.push(new URL(request.url).searchParams.get('wait'));
        polls += 1;
        return polls < 3
          ? HttpResponse.json(operation('running'), { headers: { 'retry-after': '0' } })
          : HttpResponse.json(operation('succeeded', { status: 201, body: metadata }));
      }),
    );
    const result = await run('database-backup', 'create');
    expect(result.exitCode).toBe(0);
    expect(waits).toEqual(['1.5', null, null]);
  });

  it('retries a start whose connection was cut with the same idempotency key', async () => {
    const keys: (string | null)[] = [];
    let attempt = 0;
    server.use(
      http.post(`${BASE}/database-backup`, ({ request }) => {
        keys.push(request.headers.get('idempotency-key'));
        attempt += 1;
        if (attempt === 1) return HttpResponse.error();
        return HttpResponse.json(operation('succeeded', { status: 201, body: metadata }), {
          status: 202,
          headers: { location: LOCATION },
        });
      }),
    );
    const result = await run('database-backup', 'create');
    expect(result.stdout).toBe(`[INFO] Successfully stored database backup under '${PATH}'.\n`);
    expect(keys).toHaveLength(2);
    expect(keys[0]).toBe(keys[1]);
  });
});

describe('database-backup status', () => {
  it('lists the operations, running ones first', async () => {
    server.use(
      http.get(`${BASE}/database-backup/operations`, () =>
        HttpResponse.json({
          operations: [operation('running', null, 1024), operation('succeeded', { status: 201, body: {} })],
        }),
      ),
    );
    const result = await run('database-backup', 'status');
    const lines = result.stdout.split('\n');
    expect(lines[0]).toBe('[INFO] Found 2 operation(s), running ones first, then newest first:');
    expect(lines[1]).toMatch(/^ID\s+KIND\s+STATE\s+STARTED \(UTC\)\s+USER\s+PROGRESS$/);
    expect(lines[2]).toContain(`${ID}  backup  running`);
    expect(lines[2]).toContain('dumping 25% (1024 of 4096 bytes)');
  });

  it('marks a dry run, in the table and for one operation', async () => {
    const dry = {
      ...operation('succeeded', { status: 200, body: {} }),
      kind: 'restore',
      params: { dryRun: true },
    };
    const real = { ...operation('running', null, 1024), kind: 'restore', params: { dryRun: false } };
    server.use(
      http.get(`${BASE}/database-backup/operations`, () => HttpResponse.json({ operations: [real, dry] })),
      http.get(`${BASE}${LOCATION}`, () => HttpResponse.json(dry)),
    );
    const lines = (await run('database-backup', 'status')).stdout.split('\n');
    expect(lines[2]).toMatch(new RegExp(`^${ID}  restore            running `));
    expect(lines[3]).toMatch(new RegExp(`^${ID}  restore \\(dry run\\)  succeeded `));
    expect((await run('database-backup', 'status', ID)).stdout).toBe(
      `[INFO] Operation ${ID} (restore (dry run), started 2026-11-30 10:00:00 UTC by 'admin@example.com') succeeded at 2026-11-30 10:00:02 UTC.\n`,
    );
  });

  it('describes one operation, and names an unknown id', async () => {
    server.use(
      http.get(`${BASE}${LOCATION}`, () =>
        HttpResponse.json(operation('failed', { status: 500, body: { detail: 'The server stopped.' } })),
      ),
    );
    expect((await run('database-backup', 'status', ID)).stdout).toBe(
      `[INFO] Operation ${ID} (backup, started 2026-11-30 10:00:00 UTC by 'admin@example.com') failed at 2026-11-30 10:00:02 UTC: The server stopped.\n`,
    );
    server.use(
      http.get(`${BASE}/database-backup/operations/nope`, () =>
        HttpResponse.json(
          { code: 'OPERATION.NOT_FOUND', detail: "There is no operation 'nope'." },
          { status: 404 },
        ),
      ),
    );
    const unknown = await run('database-backup', 'status', 'nope');
    expect([unknown.stderr, unknown.exitCode]).toEqual(["[ERROR] There is no operation 'nope'.\n", 1]);
  });

  it('waits out the 503 of a restore swap instead of printing it as the state', async () => {
    let asked = 0;
    server.use(
      http.get(`${BASE}${LOCATION}`, () => {
        asked += 1;
        if (asked <= 2)
          return HttpResponse.json(
            {
              code: 'SERVER.MAINTENANCE',
              detail: 'The server is in maintenance: a restore is swapping in the new database.',
            },
            { status: 503, headers: { 'retry-after': '0' } },
          );
        return HttpResponse.json(operation('succeeded', { status: 200, body: {} }));
      }),
    );
    const result = await run('-o', 'raw', 'database-backup', 'status', ID);
    expect(asked).toBe(3);
    expect((JSON.parse(result.stdout) as { state: string }).state).toBe('succeeded');
    expect(result.exitCode).toBe(0);
  });
});
