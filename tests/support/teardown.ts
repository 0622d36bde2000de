// After a test file's tests: the processes it started are stopped first, in the order given (a proxy before the
// server behind it, a server before the sidecar it calls; they hold connections to the database), then its database
// is dropped and its folders removed. Whatever was never made is passed over.
import { rm } from 'node:fs/promises';
import type { TestDatabase } from './pg';

/** close() where there is one (it removes what the thing kept, as an S3 server's data), else stop(). */
type Running = { close(): Promise<unknown> } | { stop(): Promise<unknown> };

export async function tearDown(made: {
  stop?: readonly (Running | undefined)[];
  db?: TestDatabase | undefined;
  dirs?: readonly (string | undefined)[];
}): Promise<void> {
  for (const running of made.stop ?? []) {
    if (running) await ('close' in running ? running.close() : running.stop());
  }
  await made.db?.drop();
  for (const dir of made.dirs ?? []) if (dir) await rm(dir, { recursive: true, force: true });
}
