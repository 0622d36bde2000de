// The real server process on a bench database, and its first admin bootstrapped the way an administrator does it:
// `user request`, tmp_admin plus a hot reload, approve, the admin role, tmp_admin removed again.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  CLIENT_BIN,
  startListening,
  waitForReloads,
  writeConfig,
  type ServerProcess,
} from '../tests/support/server-process';
import { run, type RunOptions, type Timed } from './processes';

export const ADMIN = 'bench-admin@example.com';

/** When each log line of the server arrived here: the server's own phase boundaries, to the millisecond. */
export interface LogTimeline {
  /** The index of the next line; pass it to `at` to search only what came after. */
  mark(): number;
  /** Arrival time (performance.now()) of the first line at or after `from` that matches, or null. */
  at(pattern: RegExp, from: number): number | null;
  /** The lines at or after `from`, each with its arrival time. */
  since(from: number): { t: number; text: string }[];
}

export interface BenchServer {
  process: ServerProcess;
  log: LogTimeline;
  url: string;
  pid: number;
  /** Runs bomnipotent_client as the admin (a process of its own; the wall clock is measured). */
  client(args: string[], options?: RunOptions, entry?: string): Promise<Timed>;
  secretKeyPem(): string;
  /** Rewrites the config with these extra lines in the database_backup task (e.g. `keep = 14`) and waits for the reload. */
  setTaskKeys(lines: string[]): Promise<void>;
  stop(): Promise<void>;
}

export function benchConfig(dbUrl: string, backupDir: string): string {
  return [
    `db_url = "${dbUrl}"`,
    'http_port = 0',
    '[log]',
    'level = "info"',
    // The load tests send thousands of requests from one address: the rate limiter must not refuse them.
    '[dos_prevention]',
    'limit = 1000000000',
    '[[tasks]]',
    'name = "database_backup"',
    `directory = "${backupDir}"`,
    // Not scheduled: a scheduled task runs at start-up, and that dump would run into the first measurement.
    // verify_after_backup stays at its default (true).
    'scheduled = false',
    '',
  ].join('\n');
}

function recordTimeline(proc: ServerProcess): LogTimeline {
  const lines: { t: number; text: string }[] = [];
  let partial = '';
  const onData = (chunk: Buffer) => {
    const t = performance.now();
    const parts = (partial + chunk.toString()).split('\n');
    partial = parts.pop() ?? '';
    for (const text of parts) lines.push({ t, text });
  };
  proc.child.stdout?.on('data', onData);
  proc.child.stderr?.on('data', onData);
  return {
    mark: () => lines.length,
    at: (pattern, from) => lines.slice(from).find((l) => pattern.test(l.text))?.t ?? null,
    since: (from) => lines.slice(from),
  };
}

export async function startBenchServer(
  dbUrl: string,
  backupDir: string,
  configDir: string,
  clientHome: string,
  /** Extra environment of the server process, e.g. NODE_OPTIONS for a heap experiment. */
  serverEnv: NodeJS.ProcessEnv = {},
): Promise<BenchServer> {
  const base = benchConfig(dbUrl, backupDir);
  const configPath = writeConfig(base, configDir);
  // As shipped: the Dockerfile's entry point and `npm start` run node with small young-generation semi-spaces and
  // with gc exposed (the restore's feed asks for a young-generation collection every 8 MiB: young-gc.ts).
  const proc = await startListening(configPath, {
    BOMNIPOTENT_DB_WAIT_TIMEOUT: '30',
    NODE_OPTIONS: '--max-semi-space-size=2 --expose-gc',
    ...serverEnv,
  });
  const log = recordTimeline(proc);
  const clientEnv = { ...process.env, XDG_CONFIG_HOME: clientHome };
  const client = (args: string[], options: RunOptions = {}, entry = CLIENT_BIN) =>
    run(process.execPath, [entry, '-d', proc.url, ...args], {
      env: clientEnv,
      captureStdout: true,
      ...options,
    });
  const ok = async (args: string[]) => {
    const result = await client(args);
    if (result.code !== 0) throw new Error(`bomnipotent_client ${args.join(' ')} failed: ${result.stderr}`);
    return result.stdout;
  };
  let reloads = 2; // the admin bootstrap below reloads twice
  const server: BenchServer = {
    process: proc,
    log,
    url: proc.url,
    pid: proc.child.pid!,
    client: (args, options, entry) => client(['-u', ADMIN, ...args], options, entry),
    secretKeyPem: () => readFileSync(join(clientHome, 'bomnipotent', 'secret_key.pem'), 'utf8'),
    setTaskKeys: async (lines) => {
      // The task is the config's last table, so appended keys belong to it.
      writeFileSync(configPath, base + lines.map((l) => `${l}\n`).join(''));
      reloads += 1;
      await waitForReloads(proc, reloads);
    },
    stop: async () => {
      await proc.stop();
    },
  };
  try {
    // The request prints the tmp_admin line that names its key.
    const tmpAdmin = /tmp_admin = "[^"]+"/.exec(await ok(['user', 'request', ADMIN]))?.[0];
    writeFileSync(configPath, base + `[user]\n${tmpAdmin}\n`);
    await waitForReloads(proc, 1);
    await ok(['-u', ADMIN, 'user', 'approve', ADMIN]);
    await ok(['-u', ADMIN, 'user-role', 'add', ADMIN, 'admin']);
    writeFileSync(configPath, base);
    await waitForReloads(proc, 2);
    await ok(['-u', ADMIN, 'whoami']);
  } catch (error) {
    await proc.stop();
    throw error;
  }
  return server;
}
