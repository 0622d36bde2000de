// A pg_dump 17 dump restored into PostgreSQL 15 (the shared server here): real psql stops at `SET transaction_timeout`
// without the filter, and restores the data with it. The fixture is pg_dump 17.12's own output (the image's tools).
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  needsOlderServerFilter,
  OlderServerFilter,
  TRANSACTION_TIMEOUT_LINE,
} from '../../runtime/executor/older-server-filter';
import { adminQuery, createTestDatabase, type TestDatabase } from '../support/pg';

const DUMP = readFileSync(join(import.meta.dirname, '../fixtures/pg_dump-17.12.sql'));

/** psql as the restore runs it, fed `input` in chunks of `chunkSize` bytes (through the filter when asked). */
async function psqlRestore(
  url: string,
  input: Buffer,
  filtered: boolean,
  chunkSize = 7,
): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(
    'psql',
    ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '--single-transaction', '-f', '-', '-d', url],
    {
      stdio: ['pipe', 'ignore', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const chunks = Array.from({ length: Math.ceil(input.length / chunkSize) }, (_, i) =>
    input.subarray(i * chunkSize, (i + 1) * chunkSize),
  );
  const stages = filtered ? [new OlderServerFilter()] : [];
  await pipeline([Readable.from(chunks), ...stages, child.stdin]).catch(() => {});
  const code = await new Promise<number | null>((r) => child.once('close', r));
  return { code, stderr };
}

async function filter(text: string, chunkSize = 3): Promise<string> {
  let out = '';
  const bytes = Buffer.from(text);
  const chunks = Array.from({ length: Math.ceil(bytes.length / chunkSize) }, (_, i) =>
    bytes.subarray(i * chunkSize, (i + 1) * chunkSize),
  );
  await pipeline(Readable.from(chunks), new OlderServerFilter(), async (source: AsyncIterable<Buffer>) => {
    for await (const chunk of source) out += chunk.toString();
  });
  return out;
}

describe('a pg_dump 17 dump into PostgreSQL 15', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase('older_srv');
  });
  afterAll(async () => {
    await db.drop();
  });

  it('psql stops at SET transaction_timeout without the filter; with it the data is restored', async () => {
    const major = Number(
      (await adminQuery<{ v: string }>("SELECT current_setting('server_version_num') AS v")).rows[0]!.v.slice(
        0,
        2,
      ),
    );
    expect(major).toBeLessThan(17); // the point of this test: an older server
    expect(needsOlderServerFilter(major)).toBe(true);
    const refused = await psqlRestore(db.url, DUMP, false);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('unrecognized configuration parameter "transaction_timeout"');
    const restored = await psqlRestore(db.url, DUMP, true);
    expect(restored).toEqual({ code: 0, stderr: '' });
    const rows = await adminQuery<{ title: string }>('SELECT title FROM docs ORDER BY id', [], db.name);
    expect(rows.rows.map((r) => r.title)).toEqual(['sbom-1', 'csaf-1']);
  });

  it('drops only that line of the header, whatever the chunks; nothing past the header', async () => {
    const text = DUMP.toString();
    expect(await filter(text)).toBe(text.replace(`${TRANSACTION_TIMEOUT_LINE}\n`, ''));
    expect(await filter(text, 1 << 20)).toBe(text.replace(`${TRANSACTION_TIMEOUT_LINE}\n`, ''));
    // The same line in a function body (after the header) stays.
    const body = `SET lock_timeout = 0;\n\nCREATE FUNCTION f() RETURNS void LANGUAGE sql AS $$\n${TRANSACTION_TIMEOUT_LINE}\n$$;\n`;
    expect(await filter(body)).toBe(body);
    // A dump of an older pg_dump (no such line) passes unchanged, also when it is all header.
    expect(await filter('SET lock_timeout = 0;\n')).toBe('SET lock_timeout = 0;\n');
    expect(needsOlderServerFilter(17)).toBe(false);
    expect(needsOlderServerFilter(null)).toBe(true);
  });
});
