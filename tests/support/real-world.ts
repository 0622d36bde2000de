// One real restore world for a test: a database of its own, a backup directory, the server's schema migrated; close()
// removes all of it. The restore, rehearsal and backup suites open one per test (or per file) instead of each its
// own copy of these lines.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDatabase, type TestDatabase } from './pg';
import { createRealContext, migrateToLatest, type RealRestoreWorld } from './restore-real';

export interface RealWorldFixture {
  database: TestDatabase;
  /** A temporary folder of its own, removed by close(). */
  root: string;
  /** The backup directory: `root` itself, or `root/<subdirectory>`. */
  directory: string;
  world: RealRestoreWorld;
  close(): Promise<void>;
}

export async function openRealWorld(
  name: string,
  options: { subdirectory?: string; keepOldDatabase?: boolean } = {},
): Promise<RealWorldFixture> {
  const database = await createTestDatabase(name);
  const root = await mkdtemp(join(tmpdir(), `bomnipotent-${name}-`));
  const directory = options.subdirectory === undefined ? root : join(root, options.subdirectory);
  const world = createRealContext({
    url: database.url,
    directory,
    ...(options.keepOldDatabase === undefined ? {} : { keepOldDatabase: options.keepOldDatabase }),
  });
  await migrateToLatest(world);
  return {
    database,
    root,
    directory,
    world,
    close: async () => {
      await world.close();
      await database.drop();
      await rm(root, { recursive: true, force: true });
    },
  };
}
