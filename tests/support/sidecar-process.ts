// Runs bin/bomnipotent_executor.js as a process of its own, as an administrator would, and finds its port on stdout.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';

export const EXECUTOR_BIN = resolve(import.meta.dirname, '../../bin/bomnipotent_executor.js');
const LISTENING = /Executor sidecar listening on (http:\/\/\S+)/;

export interface SidecarProcessOptions {
  dbUrl: string;
  directory: string;
  token?: string;
  /** BOMNIPOTENT_EXECUTOR_TOOL_DIRECTORY: where the sidecar looks for pg_dump and friends. */
  toolDirectory?: string;
  env?: Record<string, string>;
}

export interface SidecarProcess {
  url: string;
  token: string;
  child: ChildProcess;
  output(): string;
  /** SIGTERM, then wait for the exit; resolves with the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL to the whole process group (the sidecar and its pg_dump), as a dying container. */
  kill(): Promise<void>;
}

export function randomToken(): string {
  return randomBytes(24).toString('hex');
}

function sidecarEnv(options: SidecarProcessOptions, token: string): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? '/tmp',
    BOMNIPOTENT_EXECUTOR_DB_URL: options.dbUrl,
    BOMNIPOTENT_EXECUTOR_TOKEN: token,
    BOMNIPOTENT_EXECUTOR_DIRECTORY: options.directory,
    BOMNIPOTENT_EXECUTOR_HOST: '127.0.0.1',
    BOMNIPOTENT_EXECUTOR_PORT: '0',
    ...(options.toolDirectory ? { BOMNIPOTENT_EXECUTOR_TOOL_DIRECTORY: options.toolDirectory } : {}),
    ...options.env,
  };
}

function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((done) => child.once('exit', (code) => done(code)));
}

export async function startSidecarProcess(options: SidecarProcessOptions): Promise<SidecarProcess> {
  const token = options.token ?? randomToken();
  // Its own process group, so that kill() also takes the pg_dump it started, like a container's end.
  const child = spawn(process.execPath, [EXECUTOR_BIN], {
    env: sidecarEnv(options, token),
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));

  const url = await new Promise<string>((done, fail) => {
    const timer = setTimeout(
      () => fail(new Error(`The sidecar did not start within 30 s:\n${output}`)),
      30_000,
    );
    const onData = () => {
      const match = LISTENING.exec(output);
      if (!match?.[1]) return;
      clearTimeout(timer);
      child.stdout.off('data', onData);
      done(match[1]);
    };
    child.stdout.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      fail(new Error(`The sidecar exited with code ${code} before listening:\n${output}`));
    });
  });

  return {
    url,
    token,
    child,
    output: () => output,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited(child);
    },
    kill: async () => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
      await exited(child);
    },
  };
}

/** Starts the sidecar with the given environment and returns how it ended (for settings it must refuse). */
export async function runSidecarUntilExit(
  env: Record<string, string>,
): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, [EXECUTOR_BIN], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  const code = await exited(child);
  clearTimeout(timer);
  return { code, output };
}
