// The rehearsal's pure parts: the COPY row counter over arbitrary chunking, and the signed record's trust decision.
import { generateKeyPairSync } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { CopyRowCounter } from '../../runtime/executor/copy-count';
import { signManifest, publicKeyId } from '../../handlers/backup/manifest';
import {
  readTrustedRehearsal,
  signRehearsal,
  type RehearsalRecord,
} from '../../handlers/backup/rehearsal-record';
import { createPublicKey } from 'node:crypto';

const DUMP = [
  '--',
  '-- PostgreSQL database dump',
  'SET statement_timeout = 0;',
  'CREATE TABLE public.docs (id integer, title text);',
  'COPY public.docs (id, title) FROM stdin;',
  '1\tone',
  '2\ttwo with an escaped \\n newline',
  '3\t\\N',
  '\\.',
  '',
  'COPY public."Odd ""Name""" (v) FROM stdin;',
  '\\.',
  'COPY public.big (v) FROM stdin;',
  ...Array.from({ length: 5000 }, (_, i) => `${i}\t${'x'.repeat(i % 50)}`),
  '\\.',
  'SELECT 1; -- COPY public.fake (v) FROM stdin; is not at the start of a line',
  '-- PostgreSQL database dump complete',
  '',
].join('\n');

async function count(chunkSize: number): Promise<Record<string, number>> {
  const bytes = Buffer.from(DUMP, 'utf8');
  const chunks: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += chunkSize) chunks.push(bytes.subarray(i, i + chunkSize));
  const counter = new CopyRowCounter();
  let passed = 0;
  await pipeline(
    Readable.from(chunks),
    counter,
    new Writable({
      write(chunk: Buffer, _e, callback) {
        passed += chunk.length;
        callback();
      },
    }),
  );
  expect(passed).toBe(bytes.length); // it only looks: every byte reaches psql
  return counter.rows;
}

describe('CopyRowCounter', () => {
  it('counts the data lines of each COPY, whatever the chunking', async () => {
    const expected = { 'public.docs': 3, 'public."Odd ""Name"""': 0, 'public.big': 5000 };
    for (const size of [1, 2, 3, 7, 64, 4096, 1 << 20]) expect(await count(size)).toEqual(expected);
  });
});

describe('rehearsal record', () => {
  const { privateKey } = generateKeyPairSync('ed25519');
  const key = publicKeyId(createPublicKey(privateKey));
  const record: RehearsalRecord = {
    format: 'bomnipotent-rehearsal/1',
    file: 'db_20260111_103024.dump',
    sha256: 'ab'.repeat(32),
    database: 'db',
    rehearsedAt: '2026-01-11T10:31:00.000Z',
    durationMs: 1200,
    ok: true,
    tables: 3,
    rows: 42,
    schemaVersion: 4,
    error: null,
    standby: { database: 'db_standby', fingerprint: 'oid 1, size 2, counters 3', sizeBytes: 2 },
  };

  it('is trusted when signed by a trusted key and about these bytes', () => {
    expect(
      readTrustedRehearsal(signRehearsal(record, privateKey), [key], record.file, record.sha256),
    ).toEqual({
      ok: true,
      record,
    });
  });

  it('is not trusted when altered, signed by another key, about another file or bytes, or unsigned', () => {
    const text = signRehearsal(record, privateKey);
    const altered = text.replace('"rows": 42', '"rows": 43');
    expect(readTrustedRehearsal(altered, [key], record.file, record.sha256)).toMatchObject({
      ok: false,
      reason: expect.stringContaining('forged or altered'),
    });
    const other = generateKeyPairSync('ed25519').privateKey;
    expect(readTrustedRehearsal(signRehearsal(record, other), [key], record.file, record.sha256).ok).toBe(
      false,
    );
    expect(readTrustedRehearsal(text, [key], 'db_20260112_000000.dump', record.sha256).ok).toBe(false);
    expect(readTrustedRehearsal(text, [key], record.file, 'cd'.repeat(32)).ok).toBe(false);
    expect(
      readTrustedRehearsal(JSON.stringify({ rehearsal: record }), [key], record.file, record.sha256).ok,
    ).toBe(false);
  });

  it('a manifest signature never passes for a rehearsal record (separate signing contexts)', () => {
    const manifestFile = JSON.parse(
      signManifest(
        {
          format: 'bomnipotent-backup/2',
          file: record.file,
          sizeBytes: 1,
          sha256: record.sha256,
          database: 'db',
          createdAt: '2026-01-11T10:30:24.000Z',
          durationMs: 1,
          serverVersion: '15.20',
          pgDumpVersion: '15.20',
          schemaVersion: 4,
          appVersion: '0.1.0',
          compression: 'none',
          encryption: null,
          restricted: true,
          sequence: 1,
          previousManifestSha256: null,
          trigger: 'manual',
          user: null,
        },
        privateKey,
      ),
    ) as { signature: unknown };
    const spliced = JSON.stringify({ rehearsal: record, signature: manifestFile.signature });
    expect(readTrustedRehearsal(spliced, [key], record.file, record.sha256).ok).toBe(false);
  });
});
