// Starts bomnipotent_server as a real process and waits for its listening line.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { watchOutput } from './process-output';

export const REPO = resolve(import.meta.dirname, '../..');
export const SERVER_BIN = join(REPO, 'bin/bomnipotent_server.js');
export const CLIENT_BIN = join(REPO, 'bin/bomnipotent_client.js');

export interface ServerProcess {
  child: ChildProcess;
  url: string;
  output(): string;
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export function writeConfig(text: string, dir = mkdtempSync(join(tmpdir(), 'bomnipotent-cfg-'))): string {
  const path = join(dir, 'config.toml');
  writeFileSync(path, text);
  return path;
}

export function startServer(configPath: string, env: NodeJS.ProcessEnv = {}): ServerProcess {
  const child = spawn(process.execPath, [SERVER_BIN, '--config', configPath], {
    env: { ...process.env, BOMNIPOTENT_DB_WAIT_TIMEOUT: '5', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const watched = watchOutput(child);
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const proc: ServerProcess = {
    child,
    url: '',
    ...watched,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
  return proc;
}

export async function startListening(
  configPath: string,
  env: NodeJS.ProcessEnv = {},
): Promise<ServerProcess> {
  const proc = startServer(configPath, env);
  const m = await proc.waitFor(/Listening on http:\/\/[^\s]+:(\d+)/);
  return { ...proc, url: `http://127.0.0.1:${m[1]}` };
}

/** Runs bomnipotent_client as a process. */
export function runClient(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolvePromise) => {
    const child = spawn(process.execPath, [CLIENT_BIN, ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.once('exit', (code) => resolvePromise({ code, stdout, stderr }));
  });
}

/** Waits until the server has logged `count` successful config reloads since it started. */
export async function waitForReloads(server: Pick<ServerProcess, 'waitFor'>, count: number): Promise<void> {
  await server.waitFor(new RegExp(`(Configuration successfully reloaded[\\s\\S]*){${count}}`), 15_000);
}
