// A PostgreSQL cluster of the test's own (initdb + pg_ctl on a free port, scram-sha-256 for every connection), for
// what the machine's shared trust-auth server cannot show: that a password really logs the tools in, and how things
// go with PostgreSQL's default settings (autovacuum on, its default naptime: the shared cluster turns it off). Only
// fsync is off (the tests' disk is shared). Never touches the shared cluster's pg_hba.conf. As root, the cluster runs as the `postgres` user (initdb refuses root).
import { execFile } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { freePort } from './free-port';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

import { PG_BIN } from './pg-bin';

const run = promisify(execFile);
export const POSTGRES_BIN = PG_BIN;

export interface PrivateCluster {
  port: number;
  superuserUrl(database?: string): string;
  /** Kills PostgreSQL (pg_ctl -m immediate: a crash, as far as the data directory knows) and starts it again. */
  crashRestart(): Promise<void>;
  stop(): Promise<void>;
}

async function postgresIds(): Promise<{ uid: number; gid: number } | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const { stdout: uid } = await run('id', ['-u', 'postgres']);
  const { stdout: gid } = await run('id', ['-g', 'postgres']);
  return { uid: Number(uid), gid: Number(gid) };
}

/** Whether every folder from `/` down to `directory` lets other users through (o+x). */
function traversableByOthers(directory: string): boolean {
  for (let d = directory; ; d = dirname(d)) {
    if ((statSync(d).mode & 0o001) === 0) return false;
    if (dirname(d) === d) return true;
  }
}

/**
 * Where the cluster's folder goes: the test's own TMPDIR, unless the cluster runs as `postgres` and cannot reach it
 * (the per-file TMPDIR is a 0700 folder of root's); then the nearest folder above it that `postgres` can reach.
 * The folder is removed by stop(), also when the start fails.
 */
function clusterParent(asOtherUser: boolean): string {
  let directory = tmpdir();
  if (!asOtherUser) return directory;
  while (!traversableByOthers(directory) && dirname(directory) !== directory) directory = dirname(directory);
  return directory;
}

export async function startPrivateCluster(
  superuserPassword: string,
  settings: { auth?: 'scram-sha-256' | 'trust'; fsync?: boolean } = {},
): Promise<PrivateCluster> {
  const ids = await postgresIds();
  const root = mkdtempSync(join(clusterParent(ids !== undefined), 'bomnipotent-pgcluster-'));
  const as = ids ? { uid: ids.uid, gid: ids.gid } : {};
  const data = join(root, 'data');
  const pwfile = join(root, 'pwfile');
  writeFileSync(pwfile, `${superuserPassword}\n`, { mode: 0o600 });
  if (ids) {
    chownSync(root, ids.uid, ids.gid);
    chownSync(pwfile, ids.uid, ids.gid);
  }
  const port = await freePort();
  const options = `-p ${port} -k ${root} -c listen_addresses=127.0.0.1${settings.fsync ? '' : ' -c fsync=off'}`;
  const start = () =>
    run(
      join(POSTGRES_BIN, 'pg_ctl'),
      ['-D', data, '-o', options, '-l', join(root, 'log'), '-w', 'start'],
      as,
    );
  const stop = async () => {
    await run(join(POSTGRES_BIN, 'pg_ctl'), ['-D', data, '-m', 'immediate', '-w', 'stop'], as).catch(
      () => {},
    );
    rmSync(root, { recursive: true, force: true });
  };
  try {
    await run(
      join(POSTGRES_BIN, 'initdb'),
      [
        '-D',
        data,
        '-U',
        'postgres',
        '-A',
        settings.auth ?? 'scram-sha-256',
        `--pwfile=${pwfile}`,
        '-E',
        'UTF8',
        '--locale=C.UTF-8',
      ],
      as,
    );
    rmSync(pwfile);
    await start();
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    port,
    superuserUrl: (database = 'postgres') =>
      `postgres://postgres:${encodeURIComponent(superuserPassword)}@127.0.0.1:${port}/${database}`,
    crashRestart: async () => {
      await run(join(POSTGRES_BIN, 'pg_ctl'), ['-D', data, '-m', 'immediate', '-w', 'stop'], as);
      await start();
    },
    stop,
  };
}
