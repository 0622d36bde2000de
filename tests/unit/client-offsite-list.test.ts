// `database-backup list` with off-site copies: the LOCATION column, `--offsite`, and the store's problems as warnings.
import { http, HttpResponse } from 'msw';
import { describe, expect, it } from 'vitest';
import { BASE, mockServer, runAgainstMock } from '../support/msw-client';

const server = mockServer();

const run = runAgainstMock;

const entry = (file: string, location: string, takenAt: string) => ({
  file,
  path: location === 'offsite' ? null : `/b/${file}`,
  takenAt,
  sizeBytes: 2048,
  trigger: location === 'offsite' ? null : 'scheduled',
  user: null,
  verified: true,
  location,
});

const body = {
  backups: [
    entry('db_20260112_000000.dump', 'local', '2026-01-12T00:00:00.000Z'),
    entry('db_20260111_000000.dump', 'both', '2026-01-11T00:00:00.000Z'),
    entry('db_20260110_000000.dump', 'offsite', '2026-01-10T00:00:00.000Z'),
  ],
  offsite: { location: 's3://bk1/p/', incomplete: ['db_20260113_000000.dump'], foreign: ['notes.txt'] },
};

describe('database-backup list with an off-site store', () => {
  it('shows where each backup is and what else the store holds', async () => {
    server.use(http.get(`${BASE}/database-backup`, () => HttpResponse.json(body)));
    const result = await run('database-backup', 'list');
    expect(result.stdout).toContain('TRIGGER    LOCATION  TRUST');
    expect(result.stdout).toContain('db_20260110_000000.dump  2.0 KB  ?          offsite   ✓ trusted');
    expect(result.stdout).toContain('db_20260111_000000.dump  2.0 KB  scheduled  both      ✓ trusted');
    expect(result.stderr).toContain(
      '[WARN] Incomplete uploads in s3://bk1/p/ (not backups, retried on the next run): db_20260113_000000.dump',
    );
    expect(result.stdout).toContain('not backups of this product: notes.txt');
  });

  it('asks for the store alone with --offsite, and passes the JSON through in raw mode', async () => {
    let query: string | null = null;
    server.use(
      http.get(`${BASE}/database-backup`, ({ request }) => {
        query = new URL(request.url).searchParams.get('offsite');
        return HttpResponse.json(body);
      }),
    );
    const result = await run('-o', 'raw', 'database-backup', 'list', '--offsite');
    expect(query).toBe('only');
    expect(JSON.parse(result.stdout)).toEqual(body);
  });

  it('warns when the store could not be read and still lists the local backups', async () => {
    const down = {
      backups: [entry('db_20260112_000000.dump', 'local', '2026-01-12T00:00:00.000Z')],
      offsite: {
        location: 's3://bk1/p/',
        error: 'the store did not answer (ECONNREFUSED).',
        incomplete: [],
        foreign: [],
      },
    };
    server.use(http.get(`${BASE}/database-backup`, () => HttpResponse.json(down)));
    const result = await run('database-backup', 'list');
    expect(result.stderr).toContain(
      '[WARN] The off-site store s3://bk1/p/ could not be read: the store did not answer',
    );
    expect(result.stdout).toContain('db_20260112_000000.dump');
  });
});
