import { rmSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import type { Logger } from '../../handlers/ports/logger';
import { createLocalExecutor } from '../../runtime/executor/local';
import { makeToolDirectory, pgDumpReportingVersion, REAL_TOOL_DIRECTORY } from '../support/fake-tools';

const logger: Logger = { error: () => {}, warn: () => {}, info: () => {}, debug: () => {}, trace: () => {} };
const dbUrl = 'postgres://root@127.0.0.1:5432/postgres';
const made: string[] = [];
const tools = (scripts: Record<string, string>) => {
  const dir = makeToolDirectory(scripts);
  made.push(dir);
  return dir;
};
const real = (t: string) => `exec '${REAL_TOOL_DIRECTORY}/${t}' "$@"`;

afterAll(() => made.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('local executor: probe', () => {
  it('finds the server major’s tools first and reports no problem', async () => {
    // PATH points at Debian's wrappers; /usr/lib/postgresql/15/bin must win for a 15 server.
    const report = await createLocalExecutor({ dbUrl, logger, env: { PATH: '/usr/bin:/bin' } }).probe(15);
    expect(report).toEqual({
      pgDumpPath: `${REAL_TOOL_DIRECTORY}/pg_dump`,
      pgDumpVersion: '15.20',
      psqlPath: `${REAL_TOOL_DIRECTORY}/psql`,
      createdbPath: `${REAL_TOOL_DIRECTORY}/createdb`,
      dropdbPath: `${REAL_TOOL_DIRECTORY}/dropdb`,
      zstdPath: expect.stringMatching(/\/zstd$/) as unknown,
      agePath: expect.stringMatching(/\/age$/) as unknown,
      problems: [],
      blockers: [],
    });
  });

  it('names each missing tool with the package to install', async () => {
    const empty = tools({});
    const report = await createLocalExecutor({
      dbUrl,
      logger,
      env: { PATH: empty },
      versionedRoot: empty,
    }).probe(16);
    expect(report.pgDumpPath).toBeNull();
    expect(report.zstdPath).toBeNull();
    expect(report.blockers).toEqual(report.problems); // no backup can run without them
    expect(report.problems).toEqual(
      ['pg_dump', 'psql', 'createdb', 'dropdb'].map(
        (t) =>
          `${t} was not found on PATH: install the PostgreSQL client tools of version 16 (Debian: postgresql-client-16).`,
      ),
    );
  });

  it('warns about a pg_dump older or newer than the server', async () => {
    const others = { psql: real('psql'), createdb: real('createdb'), dropdb: real('dropdb') };
    const older = tools({ pg_dump: pgDumpReportingVersion('14.9'), ...others });
    const newer = tools({ pg_dump: pgDumpReportingVersion('17.6'), ...others });
    const olderReport = await createLocalExecutor({ dbUrl, logger, toolDirectory: older }).probe(15);
    expect(olderReport.pgDumpVersion).toBe('14.9');
    expect(olderReport.problems).toHaveLength(1);
    expect(olderReport.problems[0]).toMatch(
      /older than the PostgreSQL 15 server.*server version mismatch.*postgresql-client-15/,
    );
    expect(olderReport.blockers).toEqual(olderReport.problems); // pg_dump refuses a newer server
    const newerReport = await createLocalExecutor({ dbUrl, logger, toolDirectory: newer }).probe(15);
    expect(newerReport.problems).toHaveLength(1);
    expect(newerReport.problems[0]).toMatch(
      /newer than the PostgreSQL 15 server: its output may not restore/,
    );
    expect(newerReport.blockers).toEqual([]); // a warning: the backup itself works
  });

  it('warns about a pg_dump that writes no \\restrict line and a psql open to CVE-2026-18408', async () => {
    const others = { createdb: real('createdb'), dropdb: real('dropdb') };
    const old = tools({
      pg_dump: pgDumpReportingVersion('15.13'),
      psql: pgDumpReportingVersion('15.18'),
      ...others,
    });
    const report = await createLocalExecutor({ dbUrl, logger, toolDirectory: old }).probe(15);
    expect(report.problems).toHaveLength(2);
    expect(report.problems[0]).toMatch(
      /^pg_dump 15\.13 .* writes no \\restrict line .*--allow-unsigned.*postgresql-client-15/,
    );
    expect(report.problems[1]).toMatch(/^psql 15\.18 .*CVE-2026-18408.*15\.19/);
    const fixed = tools({
      pg_dump: pgDumpReportingVersion('15.14'),
      psql: pgDumpReportingVersion('15.19'),
      ...others,
    });
    expect((await createLocalExecutor({ dbUrl, logger, toolDirectory: fixed }).probe(15)).problems).toEqual(
      [],
    );
  });
});
