// Fake PostgreSQL tools for faults a real one cannot be made to show: written as sh scripts into a fresh directory.
import { chmodSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PG_BIN } from '../pg-bin';

export const REAL_TOOL_DIRECTORY = PG_BIN;

/** A new directory holding the given executables (name -> sh script body without the #! line). */
export function makeToolDirectory(scripts: Record<string, string>): string {
  const directory = mkdtempSync(join(tmpdir(), 'bomnipotent-fake-tools-'));
  for (const [name, body] of Object.entries(scripts)) {
    const path = join(directory, name);
    writeFileSync(path, `#!/bin/sh\n${body}\n`);
    chmodSync(path, 0o755);
  }
  return directory;
}

/**
 * The real tools, but the load's psql gets its input only after `delaySeconds`, and not while the directory holds a `hold` file
 * (holdPsql, releasePsql): a restore (or rehearsal) that lasts, for as long as a test needs it to, however busy the
 * machine is.
 */
export function slowPsqlToolDirectory(delaySeconds: number): string {
  const directory = mkdtempSync(join(tmpdir(), 'bomnipotent-slow-tools-'));
  for (const tool of ['pg_dump', 'createdb', 'dropdb'])
    symlinkSync(join(REAL_TOOL_DIRECTORY, tool), join(directory, tool));
  const psql = join(directory, 'psql');
  const hold = join(directory, 'hold');
  writeFileSync(
    psql,
    `#!/bin/sh\nif [ "$1" = "--version" ]; then exec ${REAL_TOOL_DIRECTORY}/psql "$@"; fi\n` +
      // Only the load (one transaction) is slowed down: not the roles query before createdb, nor the SQL that makes,
      // hands over and drops the load's temporary role.
      `case "$*" in *--single-transaction*) ;; *) exec ${REAL_TOOL_DIRECTORY}/psql "$@";; esac\n` +
      `(sleep ${delaySeconds}; while [ -e '${hold}' ]; do sleep 0.2; done; cat) | ${REAL_TOOL_DIRECTORY}/psql "$@"\n`,
  );
  chmodSync(psql, 0o755);
  return directory;
}

/** psql of a slowPsqlToolDirectory gets no input from now on, past its delay, until releasePsql. */
export function holdPsql(directory: string): void {
  writeFileSync(join(directory, 'hold'), '');
}

/** Whether the load's psql of a slowPsqlToolDirectory has started (its wrapper runs, so the load has begun). */
export function loadPsqlRunning(directory: string): boolean {
  return spawnSync('pgrep', ['-f', `${directory}/psql .*--single-transaction`]).status === 0;
}

export function releasePsql(directory: string): void {
  rmSync(join(directory, 'hold'), { force: true });
}

const version = (v: string) => `if [ "$1" = "--version" ]; then echo "pg_dump (PostgreSQL) ${v}"; exit 0; fi`;

/**
 * The opening lines of a real pg_dump 15.14+ plain dump: the header comment, then `\restrict <key>` before any
 * statement (without it, the executor's guard refuses the stream at once and the fault under test never happens).
 */
export function dumpHeader(): string {
  return `printf '%s\\n' '--' '-- PostgreSQL database dump' '--' '' '\\restrict fakeToolKey0123456789' '' 'SET statement_timeout = 0;'`;
}

/** A pg_dump 15.20 that writes the start of a dump, touches `marker`, then sleeps: a dump caught halfway. */
export function pgDumpStartsThenHangs(marker: string): string {
  return [
    version('15.20'),
    dumpHeader(),
    'i=0; while [ $i -lt 2000 ]; do echo "INSERT INTO t VALUES ($i);"; i=$((i+1)); done',
    `touch '${marker}'`,
    'exec sleep 30',
  ].join('\n');
}

/** Prints the start of a plausible dump, then dies by SIGKILL, as the out-of-memory killer would do it. */
export function pgDumpKilledHalfway(): string {
  return [
    version('15.20'),
    dumpHeader(),
    `i=0; while [ $i -lt 5000 ]; do echo "INSERT INTO t VALUES ($i);"; i=$((i+1)); done`,
    'kill -9 $$',
  ].join('\n');
}

/** Exits 0 after printing a dump without its completion marker (a pg_dump that lies). */
export function pgDumpWithoutMarker(): string {
  return [version('15.20'), dumpHeader(), `printf '%s\\n' '' '\\unrestrict fakeToolKey0123456789'`].join(
    '\n',
  );
}

/** Prints the header, then hangs (exec, so that a SIGTERM reaches the sleeping process itself). */
export function pgDumpThatHangs(): string {
  return [version('15.20'), dumpHeader(), 'exec sleep 60'].join('\n');
}

/** Only answers --version, with the given version (for probe's mismatch checks). */
export function pgDumpReportingVersion(v: string): string {
  return [version(v), 'exit 1'].join('\n');
}

/**
 * Records its argv, whether PGPASSWORD is set, and a copy of the passfile with its mode into `logDirectory`,
 * then execs the real tool: what a local user could read from /proc/<pid>/cmdline is exactly what lands in argv.log.
 */
export function recordingWrapper(tool: string, logDirectory: string): string {
  return [
    `printf '%s\\n' "${tool} $*" >> '${logDirectory}/argv.log'`,
    `printf '%s\\n' "\${PGPASSWORD-unset}" >> '${logDirectory}/pgpassword.log'`,
    `if [ -n "$PGPASSFILE" ]; then stat -c '%a' "$PGPASSFILE" >> '${logDirectory}/passfile-mode.log'; cp "$PGPASSFILE" '${logDirectory}/passfile-copy'; echo "$PGPASSFILE" >> '${logDirectory}/passfile-path.log'; fi`,
    `exec '${REAL_TOOL_DIRECTORY}/${tool}' "$@"`,
  ].join('\n');
}
