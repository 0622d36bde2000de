// The dump guard on every way a stream can be cut into chunks: what it accepts, what it refuses and why, and that
// it never releases a line that a later check refuses.
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { DumpGuard, type GuardOptions } from '../../runtime/executor/dump-guard';

const LONG_JSON = `{"components":[${'{"name":"pkg","version":"1.0.0"},'.repeat(40_000)}{}]}`; // > 1 MiB
const DUMP = [
  '--',
  '-- PostgreSQL database dump',
  '--',
  '',
  '\\restrict Abc123',
  '',
  'SET statement_timeout = 0;',
  '    CREATE FUNCTION f() RETURNS int AS $$ SELECT 1 $$ LANGUAGE sql;',
  'COPY public.docs (note, body) FROM stdin;',
  `\\N\t${LONG_JSON}`, // a row whose first column is NULL, longer than any line read whole
  '\\\\server\\share\t{}', // a value that starts with a backslash
  'plain\t{}',
  '\\.',
  '\\connect other',
  '',
  '--',
  '-- PostgreSQL database dump complete',
  '--',
  '',
  '\\unrestrict Abc123',
  '',
  '',
].join('\n');

/** Cuts `text` into chunks: whole, every byte, odd sizes, and sizes that split the long line and the markers. */
const CUTS: Record<string, (n: number) => number[]> = {
  whole: (n) => [n],
  bytes: (n) => Array<number>(n).fill(1),
  seven: (n) => Array<number>(Math.ceil(n / 7)).fill(7),
  mixed: (n) => {
    const sizes: number[] = [];
    for (let i = 0, left = n; left > 0; i += 1) {
      const size = Math.min(left, [1, 2, 255, 256, 257, 4096, 65_536, 3][i % 8]!);
      sizes.push(size);
      left -= size;
    }
    return sizes;
  },
};

async function run(
  text: string,
  cut: (n: number) => number[],
  options: GuardOptions = { requireRestrict: true },
): Promise<{ out: string; error: Error | null; restricted: boolean }> {
  const input = Buffer.from(text, 'latin1');
  const chunks: Buffer[] = [];
  let at = 0;
  for (const size of cut(input.length)) {
    chunks.push(input.subarray(at, at + size));
    at += size;
  }
  const released: Buffer[] = [];
  const guard = new DumpGuard(options);
  const error = await pipeline(
    Readable.from(chunks),
    guard,
    new Writable({
      write(chunk: Buffer, _e, callback) {
        released.push(chunk);
        callback();
      },
    }),
  ).then(
    () => null,
    (e: unknown) => e as Error,
  );
  return { out: Buffer.concat(released).toString('latin1'), error, restricted: guard.restricted };
}

// The bytes-by-one cut of a 1 MiB dump is slow: it runs on the small dumps only.
const smallCuts = Object.entries(CUTS);
const bigCuts = smallCuts.filter(([name]) => name !== 'bytes');
const small = (text: string) => text.replace(LONG_JSON, '{}');

describe.each(bigCuts)('the dump guard, cut %s', (_name, cut) => {
  it('passes a whole dump through unchanged, long rows and backslash rows included', async () => {
    const { out, error, restricted } = await run(DUMP, cut);
    expect(error).toBeNull();
    expect(out === DUMP).toBe(true);
    expect(restricted).toBe(true);
  });

  it('passes the same dump with CRLF line ends', async () => {
    const crlf = DUMP.replace(/\n/g, '\r\n');
    expect((await run(crlf, cut)).error).toBeNull();
  });
});

describe.each(smallCuts)('the dump guard refuses, cut %s', (_name, cut) => {
  const refused = async (text: string, options?: GuardOptions) => {
    const result = await run(text, cut, options);
    expect(result.error, 'refused').not.toBeNull();
    return result;
  };

  // psql acts on a line at its newline: a refused line never reaches it whole (the stream is cut, psql killed).
  it('an \\unrestrict in the middle: the line after it never reaches psql whole', async () => {
    const evil = small(DUMP).replace('plain\t{}', 'plain\t{}\n\\unrestrict Abc123\n\\! touch /tmp/x');
    const { out, error } = await refused(evil);
    expect(error?.message).toMatch(/the line at byte \d+ follows \\unrestrict/);
    expect(out).not.toContain('\\! touch /tmp/x\n');
  });

  // psql honours \\unrestrict <key> anywhere in a line, and reads everything after it as the key.
  it('the key after \\unrestrict in the middle of a line, or anywhere else in the body', async () => {
    for (const line of [
      'SELECT 1; \\unrestrict Abc123',
      'plain\t{} \\unrestrict  Abc123 ',
      '\\N\tAbc123',
      `\\N\t${'x'.repeat(300)}Abc123`,
    ]) {
      const evil = small(DUMP).replace('plain\t{}', `${line}\n\\! touch /tmp/x`);
      const { out, error } = await refused(evil);
      expect(error?.message, line).toMatch(/the \\restrict key appears at byte \d+ outside the closing/);
      expect(out, line).not.toContain('Abc123\n\\!');
    }
  });

  it('an \\unrestrict line with more after its key', async () => {
    const { error } = await refused(
      small(DUMP).replace('\\unrestrict Abc123\n', '\\unrestrict Abc123 \\! true\n'),
    );
    expect(error?.message).toMatch(/has an \\unrestrict that does not match/);
  });

  it('an \\unrestrict whose key differs', async () => {
    const { error } = await refused(small(DUMP).replace('plain\t{}', '\\unrestrict Other'));
    expect(error?.message).toMatch(/the line at byte \d+ has an \\unrestrict that does not match/);
  });

  it('a statement before \\restrict, by its line', async () => {
    const { error, out } = await refused(
      small(DUMP).replace('\\restrict Abc123', 'DROP TABLE x;\n\\restrict Abc123'),
    );
    expect(error?.message).toMatch(/^line 5 comes before any \\restrict/);
    expect(out).not.toContain('DROP TABLE x;\n');
  });

  it('a missing completion marker, a missing \\unrestrict, a line after \\unrestrict', async () => {
    expect(
      (await refused(small(DUMP).replace('-- PostgreSQL database dump complete', '--'))).error?.message,
    ).toMatch(/completion marker/);
    expect((await refused(small(DUMP).replace('\\unrestrict Abc123', ''))).error?.message).toMatch(
      /does not end with \\unrestrict/,
    );
    expect((await refused(`${small(DUMP)}SELECT 1;\n`)).error?.message).toMatch(/follows \\unrestrict/);
  });

  it('a header line of more than 1 MiB', async () => {
    if (_name === 'bytes') return; // 1 MiB one byte at a time is too slow for a unit test
    const { error } = await refused(`-- ${'x'.repeat(1_100_000)}\n${small(DUMP)}`);
    expect(error?.message).toMatch(/longer than 1048576 bytes/);
  });

  it('what the final check refuses, after everything else passed', async () => {
    const { error } = await refused(small(DUMP), {
      requireRestrict: true,
      finalCheck: () => 'checksum mismatch',
    });
    expect(error?.message).toBe('checksum mismatch');
  });
});

/** Cuts `text` into two chunks at `offset` characters into the first `at`: a line split at the chunk boundary. */
const cutAt = (text: string, at: string, offset: number) => (n: number) => {
  const end = text.indexOf(at) + offset;
  return [end, n - end];
};

describe('the dump guard holds one block back until the next one is checked', () => {
  const closing = '\\unrestrict Abc123\n';

  it('a refused line after \\unrestrict: the block that ends with the \\unrestrict line never reaches psql', async () => {
    const evil = `${small(DUMP)}\\! touch /tmp/x\n`;
    const { out, error } = await run(evil, cutAt(evil, closing, closing.length));
    expect(error?.message).toMatch(/follows \\unrestrict/);
    expect(out).not.toContain('\\unrestrict');
  });

  it.each([0, 5, closing.length - 1])(
    'the final check refuses: an \\unrestrict line cut %i bytes in is never released',
    async (offset) => {
      const dump = small(DUMP);
      const { out, error } = await run(dump, cutAt(dump, closing, offset), {
        requireRestrict: true,
        finalCheck: () => 'checksum mismatch',
      });
      expect(error?.message).toBe('checksum mismatch');
      expect(out).toBe(dump.slice(0, dump.indexOf(closing) + offset));
      expect(out).not.toContain('\\unrestrict Abc123\n');
    },
  );
});

describe('the dump guard without \\restrict required (a dump of an older pg_dump)', () => {
  it('passes a dump without \\restrict, and still refuses an \\unrestrict in it', async () => {
    const legacy = small(DUMP).replace('\\restrict Abc123\n', '').replace('\\unrestrict Abc123\n', '');
    const passed = await run(legacy, CUTS.seven!, { requireRestrict: false });
    expect([passed.error, passed.restricted]).toEqual([null, false]);
    const evil = legacy.replace('plain\t{}', '\\unrestrict x');
    expect((await run(evil, CUTS.seven!, { requireRestrict: false })).error?.message).toMatch(
      /does not match/,
    );
  });
});
