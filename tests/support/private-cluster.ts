// A PostgreSQL cluster of the test's own (initdb + pg_ctl on a free port, scram-sha-256 for every connection), for
// what the machine's shared trust-auth server cannot show: that a password really logs the tools in. Never touches
// the shared cluster's pg_hba.conf. As root, the cluster runs as the `postgres` user (initdb refuses root).
import { execFile } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const POSTGRES_BIN = '/usr/lib/postgresql/15/bin';

export interface PrivateCluster {
  port: number;
  superuserUrl(database?: string): string;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

async function postgresIds(): Promise<{ uid: number; gid: number } | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const { stdout: uid } = await run('id', ['-u', 'postgres']);
  const { stdout: gid } = await run('id', ['-g', 'postgres']);
  return { uid: Number(uid), gid: Number(gid) };
}

export async function startPrivateCluster(superuserPassword: string): Promise<PrivateCluster> {
  const root = mkdtempSync(join(tmpdir(), 'bomnipotent-pgcluster-'));
  const ids = await postgresIds();
  const as = ids ? { uid: ids.uid, gid: ids.gid } : {};
  const data = join(root, 'data');
  const pwfile = join(root, 'pwfile');
  writeFileSync(pwfile, `${superuserPassword}\n`, { mode: 0o600 });
  if (ids) {
    chownSync(root, ids.uid, ids.gid);
    chownSync(pwfile, ids.uid, ids.gid);
  }
  const port = await freePort();
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
        'scram-sha-256',
        `--pwfile=${pwfile}`,
        '-E',
        'UTF8',
        '--locale=C.UTF-8',
      ],
      as,
    );
    rmSync(pwfile);
    const options = `-p ${port} -k ${root} -c listen_addresses=127.0.0.1 -c fsync=off`;
    await run(
      join(POSTGRES_BIN, 'pg_ctl'),
      ['-D', data, '-o', options, '-l', join(root, 'log'), '-w', 'start'],
      as,
    );
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    port,
    superuserUrl: (database = 'postgres') =>
      `postgres://postgres:${encodeURIComponent(superuserPassword)}@127.0.0.1:${port}/${database}`,
    stop,
  };
}
