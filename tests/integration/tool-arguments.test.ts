// The process layer refuses to start any tool whose argv carries a password, in any spelling: a libpq
// keyword/value string, a URL with user:password@, a URL query. Such a tool is never spawned.
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../runtime/observability/logger';
import { runTool } from '../../runtime/executor/process';
import { makeToolDirectory } from '../support/fake-tools';

const marker = (dir: string) => join(dir, 'spawned');
const tools = makeToolDirectory({ tool: `touch "$(dirname "$0")/spawned"` });
afterAll(() => rm(tools, { recursive: true, force: true }));

const run = (args: string[]) => runTool({ path: join(tools, 'tool'), args, env: {}, logger: silentLogger() });

describe('no password in any tool argv', () => {
  const leaks: [string, string[]][] = [
    ['keyword/value connection string', ['--dbname=host=db user=app password=s3cret dbname=app']],
    ['keyword/value with spaces around =', ['-d', 'dbname=app password = s3cret']],
    ['URL with user:password@', ['--dbname=postgresql://app:s3cret@db:5432/app']],
    ['URL with an encoded password', ['postgres://app:s%40cret@db/app']],
    ['URL query parameter', ['--dbname=postgresql://app@db/app?password=s3cret']],
    ['upper-case keyword', ['PASSWORD=s3cret']],
  ];
  for (const [what, args] of leaks) {
    it(`refuses ${what}, before anything is spawned, without repeating the secret`, async () => {
      const error = await run(['--no-password', ...args]).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'EXECUTOR.SECRET_IN_ARGUMENTS' });
      expect((error as Error).message).not.toMatch(/s3cret|s%40cret/);
      expect(existsSync(marker(tools))).toBe(false);
    });
  }

  it('runs a tool whose argv names no password (--no-password is the flag that forbids prompts)', async () => {
    const result = await run(['--no-password', '--format=plain', '--dbname=app', 'postgres://app@db/app']);
    expect(result.exitCode).toBe(0);
    expect(existsSync(marker(tools))).toBe(true);
    await rm(marker(tools));
  });
});
