// Finds the PostgreSQL the tests use: PGTEST_URL, else the machine's server on 127.0.0.1:5432, else an embedded one.
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
