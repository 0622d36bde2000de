// Every test file gets a temporary folder of its own as TMPDIR (inherited by the servers and tools it starts), removed
// with everything in it when the file ends, also when a test failed or forgot to clean up: a run leaves nothing.
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';

const parent = tmpdir();
const root = mkdtempSync(join(parent, 'bomnipotent-test-'));
// Like /tmp itself: other users (the postgres user of an embedded or private cluster) may use it; what the tests
// make inside it with mkdtemp stays private (0700).
chmodSync(root, 0o1777);
process.env.TMPDIR = root;

// Registered before the file's own hooks, so it runs after them (hooks unwind like a stack).
afterAll(() => {
  process.env.TMPDIR = parent;
  rmSync(root, { recursive: true, force: true, maxRetries: 3 });
});
