// The role filter on its own: what it drops, rewrites and refuses, whatever the chunk boundaries; table data and
// quoted text pass untouched even when they read like a role change.
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { RoleFilter } from '../../runtime/executor/role-filter';

const roles = new Set(['app', 'reader', 'postgres']);

async function filter(
  text: string,
  chunk: number,
  mayOwn: string[] = [],
): Promise<{ out: string; missing: string[] }> {
  const bytes = Buffer.from(text, 'utf8');
  const parts: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += chunk) parts.push(bytes.subarray(i, i + chunk));
  const stage = new RoleFilter({ exists: (r) => roles.has(r), mayOwn: (r) => mayOwn.includes(r) });
  const out: Buffer[] = [];
  await pipeline(Readable.from(parts), stage, async (source: AsyncIterable<Buffer>) => {
    for await (const piece of source) out.push(piece);
  });
  return { out: Buffer.concat(out).toString('utf8'), missing: [...stage.missingRoles] };
}

const DUMP = `SET client_encoding = 'UTF8';
SELECT pg_catalog.set_config('search_path', '', false);
CREATE TABLE public.t (id integer, note text);
ALTER TABLE public.t OWNER TO app;
CREATE FUNCTION public.f() RETURNS text LANGUAGE plpgsql AS $_$
BEGIN
RESET ROLE;
GRANT SELECT ON TABLE public.t TO gone;
RETURN 'x';
END $_$;
ALTER FUNCTION public.f() OWNER TO "Old Owner";
COPY public.t (id, note) FROM stdin;
1	RESET ROLE;
2	GRANT SELECT ON TABLE public.t TO gone;
3	\\.x
\\.
SELECT 'a string; RESET ROLE; still a string';
SET SESSION AUTHORIZATION gone;
GRANT SELECT ON TABLE public.t TO reader;
RESET SESSION AUTHORIZATION;
GRANT SELECT,UPDATE ON TABLE public.t TO gone WITH GRANT OPTION;
REVOKE ALL ON TABLE public.t FROM "Gone Too";
ALTER DEFAULT PRIVILEGES FOR ROLE app IN SCHEMA public GRANT SELECT ON TABLES  TO reader;
`;

describe('RoleFilter', () => {
  it.each([1, 3, 7, 64, 1 << 20])('chunks of %i bytes: the same result', async (size) => {
    const { out, missing } = await filter(DUMP, size);
    expect(out).not.toContain('OWNER TO');
    expect(out).not.toContain('SESSION AUTHORIZATION');
    expect(out).not.toMatch(/^GRANT SELECT,UPDATE/m);
    expect(out).not.toContain('Gone Too');
    // Function bodies, table data and strings are not statements: untouched.
    expect(out).toContain('BEGIN\nRESET ROLE;\nGRANT SELECT ON TABLE public.t TO gone;\nRETURN');
    expect(out).toContain('1\tRESET ROLE;\n2\tGRANT SELECT ON TABLE public.t TO gone;\n3\t\\.x\n\\.\n');
    expect(out).toContain("SELECT 'a string; RESET ROLE; still a string';");
    expect(out).toContain('GRANT SELECT ON TABLE public.t TO reader;');
    expect(out).toContain('ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES  TO reader;');
    expect(missing.sort()).toEqual(['Gone Too', 'gone']);
  });

  it('keeps ownership the loading role may give (same server, superuser)', async () => {
    const { out } = await filter(DUMP, 5, ['app']);
    expect(out).toContain('ALTER TABLE public.t OWNER TO app;');
    expect(out).not.toContain('"Old Owner"');
    expect(out).toContain('ALTER DEFAULT PRIVILEGES FOR ROLE app IN SCHEMA');
  });

  it.each([
    ['RESET ROLE;', /session's role/],
    ['reset\n  role;', /session's role/],
    ['SET /* x */ LOCAL role postgres;', /session's role/],
    ['SET "role" = \'postgres\';', /unusual name/],
    ['RESET ALL;', /session's role/],
    ["SET SESSION AUTHORIZATION 'postgres';", /session authorization/],
    ["SELECT pg_catalog.set_config('role', 'none', false);", /set_config/],
    ["UPDATE pg_settings SET setting = 'none' WHERE name = 'role';", /pg_settings/],
    ['CALL public.p();', /top level/],
    ["COPY public.t FROM PROGRAM 'id';", /COPY other than FROM stdin/],
    ['SET standard_conforming_strings = off;', /standard_conforming_strings/],
    ["SET client_encoding = 'SJIS';", /client encoding SJIS/],
  ])('refuses %j', async (statement, reason) => {
    const dump = `CREATE TABLE public.t (id integer);\n${statement}\nSELECT 1;\n`;
    for (const size of [1, 4, 1 << 20]) await expect(filter(dump, size)).rejects.toThrow(reason);
  });

  it('reads a long run of comment and blank lines in linear time, and still judges what follows', async () => {
    // 200,000 lines (40 MB) of comments between two statements: once each line made the next one slower (some
    // minutes for this run), as a restore of such a dump did.
    const filler = `-- filler ${'.'.repeat(188)}\n\n`.repeat(100_000);
    const dump = `CREATE TABLE public.t (id integer);\n${filler}  /* x */\n\tRESET ROLE;\n`;
    const started = performance.now();
    await expect(filter(dump, 1 << 16)).rejects.toThrow(/session's role/);
    expect(performance.now() - started).toBeLessThan(15_000);
    const { out } = await filter(`${filler}SELECT 1;\n`, 1 << 16);
    expect(out.endsWith(`${filler}SELECT 1;\n`)).toBe(true);
  }, 60_000);
});
