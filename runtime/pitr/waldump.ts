// Whether the WAL holds a commit (or abort) after the target: recovery_target_time stops before the first such record,
// and without one it would end with "recovery ended before configured recovery target was reached".
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);
const RECORD = /\b(?:COMMIT|ABORT) (\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d)(?:\.(\d{1,6}))? UTC/g;

/** Microseconds since the epoch of "2026-12-07 10:14:59.123456" (UTC). */
function micros(date: string, time: string, fraction: string | undefined): bigint {
  const seconds = BigInt(Date.parse(`${date}T${time}Z`)) * 1000n;
  return seconds + BigInt((fraction ?? '').padEnd(6, '0') || '0');
}

export async function laterCommitExists(
  waldump: string,
  walDirectory: string,
  segment: string,
  target: string,
): Promise<boolean> {
  const { stdout } = await run(waldump, ['-p', walDirectory, '-r', 'Transaction', segment, segment], {
    maxBuffer: 256 * 1024 * 1024,
  }).catch((error: { stdout?: string }) => ({ stdout: error.stdout ?? '' })); // the end of valid WAL is an "error"
  const limit = BigInt(Date.parse(target)) * 1000n;
  for (const m of stdout.matchAll(RECORD)) if (micros(m[1]!, m[2]!, m[3]) > limit) return true;
  return false;
}
