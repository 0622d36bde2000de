// A restore holds the database read-only for every replica; a session can override that default. Only the server's
// own records that the restore writes itself or carries over may: a request's data never. This test keeps the list.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '../..');
const OVERRIDE =
  /writeThroughReadOnly\(|READ WRITE'|transaction_read_only\s*=\s*off|SESSION CHARACTERISTICS|default_transaction_read_only\s*(=|TO)\s*(off|false)/gi;

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

describe('writes through a restore read-only setting', () => {
  it('happen only in the stores of seen signatures and operations, the carry-over and the migrations', () => {
    const found = [
      ...sources(join(ROOT, 'handlers')),
      ...sources(join(ROOT, 'runtime')),
      ...sources(join(ROOT, 'client')),
    ]
      .flatMap((path) => (readFileSync(path, 'utf8').match(OVERRIDE) ?? []).map(() => relative(ROOT, path)))
      .filter((path) => path !== 'runtime/db/handle.ts'); // where the override is defined
    expect([...new Set(found)].sort()).toEqual([
      'runtime/db/accounts-store.ts', // rememberSignature only (the replay guard), carried over
      'runtime/db/lifecycle.ts', // the carry-over into the restored database
      'runtime/db/migrate.ts', // migrations of the restored database before it is made writable
      'runtime/db/operations-store.ts', // operation records, carried over
    ]);
    const accounts = readFileSync(join(ROOT, 'runtime/db/accounts-store.ts'), 'utf8');
    expect(accounts.match(/writeThroughReadOnly\(/g)).toHaveLength(1);
    expect(accounts).toMatch(/async rememberSignature[^;]*writeThroughReadOnly\(/);
  });
});
