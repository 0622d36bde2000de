// Finds the PostgreSQL the tests use: PGTEST_URL, else the machine's server on 127.0.0.1:5432, else an embedded one.
// PGTEST_CLUSTER=defaults starts a cluster of the run's own with PostgreSQL's default settings instead (autovacuum on,
// default naptime), so that the shared cluster's tuning (autovacuum off) is not what makes a test pass.
import { randomBytes } from 'node:crypto';
import type { TestProject } from 'vitest/node';
import pg from 'pg';

async function reachable(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.query('select 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  if (process.env.PGTEST_CLUSTER === 'defaults') {
    const { startPrivateCluster } = await import('./private-cluster');
    // Trust logins as on the shared cluster: suites connect as roles they create, without passwords.
    const cluster = await startPrivateCluster(randomBytes(12).toString('hex'), { auth: 'trust' });
    project.provide('pgAdminUrl', cluster.superuserUrl());
    return cluster.stop;
  }
  const candidates = [process.env.PGTEST_URL, 'postgres://root@127.0.0.1:5432/postgres'].filter(
    Boolean,
  ) as string[];
  for (const url of candidates) {
    if (await reachable(url)) {
      project.provide('pgAdminUrl', url);
      return async () => {};
    }
  }
  // No server here: start the embedded PostgreSQL that the product itself uses.
  const { startEmbeddedForTests } = await import('./embedded');
  const embedded = await startEmbeddedForTests();
  project.provide('pgAdminUrl', embedded.url);
  return embedded.stop;
}

declare module 'vitest' {
  export interface ProvidedContext {
    pgAdminUrl: string;
  }
}
