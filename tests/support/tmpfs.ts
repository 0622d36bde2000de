// Whether this process may mount a tmpfs (root with CAP_SYS_ADMIN): true on the CI host, false for a non-root user
// and inside a container without that capability (the PostgreSQL 17 suites of `npm run test:pg17`). Tests of a full
// disk that need a real small file system run where this is true.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

let probed: boolean | undefined;

export function canMountTmpfs(): boolean {
  if (probed !== undefined) return probed;
  probed = false;
  if (process.getuid?.() !== 0) return probed;
  const point = mkdtempSync(join(tmpdir(), 'tmpfs-probe-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', point], { stdio: 'ignore' });
    execFileSync('umount', [point], { stdio: 'ignore' });
    probed = true;
  } catch {
    // not permitted here
  } finally {
    rmSync(point, { recursive: true, force: true });
  }
  return probed;
}
