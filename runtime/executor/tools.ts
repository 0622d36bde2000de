// Finds pg_dump, psql, createdb and dropdb (the server's major first), reads their versions, and says what is wrong.
import { constants } from 'node:fs';
import { access, readdir } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import type { Logger } from '../../handlers/ports/logger';
import type { ToolReport } from '../../handlers/backup/model';
import { installHint } from './errors';
import { classifyRun, runTool } from './process';
import { pgDumpWritesRestrict, psqlHonoursRestrict } from './tool-versions';

export type ToolName = 'pg_dump' | 'psql' | 'createdb' | 'dropdb';

export interface ToolLookup {
  /** Only this directory is searched when set (the executor's `toolDirectory`). */
  toolDirectory?: string | undefined;
  /** Debian's versioned installs, /usr/lib/postgresql/<major>/bin. */
  versionedRoot?: string;
  pathEnv: string | undefined;
}

async function isExecutable(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

async function installedMajors(root: string): Promise<number[]> {
  try {
    const names = await readdir(root);
    return names
      .filter((n) => /^\d+$/.test(n))
      .map(Number)
      .sort((a, b) => b - a);
  } catch {
    return [];
  }
}

/** The directories searched for a tool, in order. */
export async function toolSearchPath(lookup: ToolLookup, serverMajor: number | null): Promise<string[]> {
  if (lookup.toolDirectory) return [lookup.toolDirectory];
  const root = lookup.versionedRoot ?? '/usr/lib/postgresql';
  const fromPath = (lookup.pathEnv ?? '').split(delimiter).filter((d) => d !== '');
  // The server's own major wins over PATH (Debian's /usr/bin wrappers may pick another); other majors come last.
  const preferred = serverMajor === null ? [] : [join(root, String(serverMajor), 'bin')];
  const others = (await installedMajors(root))
    .filter((m) => m !== serverMajor)
    .map((m) => join(root, String(m), 'bin'));
  return [...preferred, ...fromPath, ...others];
}

/** zstd and age: the executor's tool directory when set, then PATH. */
export function helperSearchPath(lookup: ToolLookup): string[] {
  return [
    ...(lookup.toolDirectory ? [lookup.toolDirectory] : []),
    ...(lookup.pathEnv ?? '').split(delimiter).filter((d) => d !== ''),
  ];
}

export async function findTool(name: string, directories: readonly string[]): Promise<string | null> {
  for (const directory of directories) {
    const candidate = join(directory, name);
    if (await isExecutable(candidate)) return candidate;
  }
  return null;
}

/** "on PATH" or "in <dir>": where a missing tool was looked for, for messages. */
export function searchedWhere(lookup: ToolLookup): string {
  return lookup.toolDirectory ? `in ${lookup.toolDirectory} (the executor's tool directory)` : 'on PATH';
}

/** "pg_dump (PostgreSQL) 15.20 (Debian 15.20-0+deb12u1)" -> "15.20"; null when the output has no version. */
export function parseToolVersion(output: string): string | null {
  const match = /\(PostgreSQL\)\s+(\d+(?:\.\d+)?)/.exec(output) ?? /\b(\d+\.\d+)\b/.exec(output);
  return match?.[1] ?? null;
}

export function majorOf(version: string): number | null {
  const major = Number.parseInt(version, 10);
  return Number.isFinite(major) ? major : null;
}

export async function readToolVersion(
  path: string,
  env: Record<string, string>,
  logger: Logger,
): Promise<string | null> {
  let output = '';
  const run = await runTool({
    path,
    args: ['--version'],
    env,
    logger,
    timeoutMs: 15_000,
    consumeStdout: async (stdout) => {
      stdout.setEncoding('utf8');
      for await (const chunk of stdout) output = (output + String(chunk)).slice(0, 1000);
    },
  });
  return classifyRun(run) === 'ok' ? parseToolVersion(output) : null;
}

/** Everything `probe` reports: where each tool is, pg_dump's version, and each problem as a sentence with a fix. */
export async function probeTools(
  lookup: ToolLookup,
  serverMajor: number,
  env: Record<string, string>,
  logger: Logger,
): Promise<ToolReport> {
  const directories = await toolSearchPath(lookup, serverMajor);
  const names: ToolName[] = ['pg_dump', 'psql', 'createdb', 'dropdb'];
  const paths = await Promise.all(names.map((n) => findTool(n, directories)));
  const [pgDumpPath = null, psqlPath = null, createdbPath = null, dropdbPath = null] = paths;
  const problems: string[] = [];
  // The problems that stop every backup (the rest are warnings): a missing tool, a pg_dump older than the server.
  const blockers: string[] = [];
  const block = (problem: string) => {
    problems.push(problem);
    blockers.push(problem);
  };
  names.forEach((name, i) => {
    if (!paths[i]) block(`${name} was not found ${searchedWhere(lookup)}: ${installHint(serverMajor)}.`);
  });

  let pgDumpVersion: string | null = null;
  if (pgDumpPath) {
    pgDumpVersion = await readToolVersion(pgDumpPath, env, logger);
    const major = pgDumpVersion === null ? null : majorOf(pgDumpVersion);
    if (pgDumpVersion === null || major === null) {
      block(`${pgDumpPath} --version did not report a version: check that it is PostgreSQL's pg_dump.`);
    } else if (major < serverMajor) {
      block(
        `pg_dump ${pgDumpVersion} (${pgDumpPath}) is older than the PostgreSQL ${serverMajor} server and refuses to dump it ` +
          `("server version mismatch"): ${installHint(serverMajor)}.`,
      );
    } else if (major > serverMajor) {
      problems.push(
        `pg_dump ${pgDumpVersion} (${pgDumpPath}) is newer than the PostgreSQL ${serverMajor} server: its output may not ` +
          `restore on an older server; prefer the same major: ${installHint(serverMajor)}.`,
      );
    }
    if (major !== null && major >= serverMajor && !pgDumpWritesRestrict(pgDumpVersion ?? '')) {
      problems.push(
        `pg_dump ${pgDumpVersion} (${pgDumpPath}) writes no \\restrict line (pg_dump 15.14, 16.10, 17.6 and later do): ` +
          `its backups are signed and verified, but psql reads them without that protection, and the \\restrict rule ` +
          `is enforced only for files restored with --allow-unsigned; update the client tools: ${installHint(serverMajor)}.`,
      );
    }
  }
  if (psqlPath) {
    const psqlVersion = await readToolVersion(psqlPath, env, logger);
    if (psqlVersion !== null && !psqlHonoursRestrict(psqlVersion)) {
      problems.push(
        `psql ${psqlVersion} (${psqlPath}) can be made to leave \\restrict mode by the file it reads (CVE-2026-18408; ` +
          `fixed in psql 15.19, 16.15, 17.11 and 18.6): restore only signed backups or files you trust, and update ` +
          `the client tools: ${installHint(serverMajor)}.`,
      );
    }
  }
  const helpers = helperSearchPath(lookup);
  const [zstdPath, agePath] = await Promise.all([findTool('zstd', helpers), findTool('age', helpers)]);
  return {
    pgDumpPath,
    pgDumpVersion,
    psqlPath,
    createdbPath,
    dropdbPath,
    zstdPath,
    agePath,
    problems,
    blockers,
  };
}
