// Which PostgreSQL the bench measures: by default a cluster of its own, started with initdb and PostgreSQL's default
// settings (autovacuum on, its default naptime; fsync on), as users run it; or the shared server at PGHOST/PGPORT
// as it is configured (the CI machine's turns autovacuum off, which the instant restore once depended on).
import { randomBytes } from 'node:crypto';
import { startPrivateCluster } from '../tests/support/private-cluster';
import { query } from './databases';
import type { ClusterKind } from './options';

export interface BenchCluster {
  kind: ClusterKind;
  /** One line for the report: which server, and its autovacuum settings. */
  description: string;
  autovacuum: boolean;
  stop(): Promise<void>;
}

/** Starts the bench's own cluster (and points PGHOST/PGPORT/PGUSER at it) or describes the shared one. */
export async function useCluster(kind: ClusterKind): Promise<BenchCluster> {
  let stop = async () => {};
  if (kind === 'defaults') {
    const cluster = await startPrivateCluster(randomBytes(12).toString('hex'), {
      auth: 'trust',
      fsync: true,
    });
    process.env.PGHOST = '127.0.0.1';
    process.env.PGPORT = String(cluster.port);
    process.env.PGUSER = 'postgres';
    stop = () => cluster.stop();
  }
  const rows = await query<{ name: string; setting: string }>(
    `SELECT name, setting FROM pg_settings WHERE name IN ('autovacuum', 'autovacuum_naptime', 'fsync')`,
  );
  const setting = (name: string) => rows.find((r) => r.name === name)?.setting ?? '?';
  const autovacuum = setting('autovacuum') === 'on';
  const where =
    kind === 'defaults' ? `a cluster of the bench's own (initdb, default settings)` : 'the shared server';
  return {
    kind,
    description: `${where} at ${process.env.PGHOST ?? '127.0.0.1'}:${process.env.PGPORT ?? '5432'}: autovacuum ${setting('autovacuum')} (naptime ${setting('autovacuum_naptime')} s), fsync ${setting('fsync')}`,
    autovacuum,
    stop,
  };
}
