// The audit log is a signed chain: lines written through the real store binding and executor, then edited, deleted,
// reordered, cut off, re-signed by another key or stripped of their signature in the file itself; reading the chain
// names each break with its line, and the untouched log reads whole.
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { BackupStore } from '../../handlers/ports/backup-store';
import { bindBackupStore } from '../../runtime/backups/backup-store';
import { signerFor } from '../../runtime/backups/signing-key';
import { AUDIT_LOG } from '../../runtime/executor/audit-log';
import { createLocalExecutor } from '../../runtime/executor/local';
import { silentLogger } from '../../runtime/observability/logger';
import { testBackupSettings } from '../support/backup-settings';
import { adminUrl } from '../support/pg';
import { auditRecord } from '../support/audit-records';

let directory: string;
let store: BackupStore;
const key = generateKeyPairSync('ed25519').privateKey;
const other = generateKeyPairSync('ed25519').privateKey;

const record = auditRecord;

const path = () => join(directory, AUDIT_LOG);
const lines = async () => (await readFile(path(), 'utf8')).split('\n').filter((l) => l !== '');
const rewrite = async (next: string[]) => writeFile(path(), next.map((l) => `${l}\n`).join(''));
const chain = async () => {
  const report = await store.auditChain?.();
  if (!report) throw new Error('the local executor reads the audit log');
  return report;
};

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'bomnipotent-audit-chain-'));
  store = bindBackupStore({
    executor: createLocalExecutor({ dbUrl: adminUrl(), logger: silentLogger() }),
    settings: testBackupSettings({ directory }),
    signer: () => signerFor(key),
  });
});

afterAll(async () => {
  if (directory) await rm(directory, { recursive: true, force: true });
});

beforeEach(async () => {
  await rm(path(), { force: true });
  for (let n = 1; n <= 5; n += 1) await store.appendAudit(record(n));
});

describe('the audit log as a signed chain', () => {
  it('the log as written reads whole: every line numbered, linked and signed', async () => {
    const written = (await lines()).map(
      (l) => JSON.parse(l) as { seq: number; prev: string | null; sig?: object },
    );
    expect(written.map((l) => l.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(written[0]?.prev).toBeNull();
    expect(written.every((l) => l.sig !== undefined)).toBe(true);
    expect(await chain()).toMatchObject({
      entries: 5,
      signed: 5,
      unsignedBefore: 0,
      breaks: [],
      problem: null,
    });
  });

  it('concurrent appends stay one chain', async () => {
    await Promise.all([6, 7, 8, 9].map((n) => store.appendAudit(record(n))));
    expect(await chain()).toMatchObject({ entries: 9, signed: 9, problem: null });
  });

  it('an edited line is named', async () => {
    const now = await lines();
    now[2] = (now[2] ?? '').replace('"outcome":"succeeded"', '"outcome":"failed"');
    await rewrite(now);
    const report = await chain();
    expect(report.problem).toMatch(/line 3's signature does not match \(edited/);
  });

  it('a deleted line is named', async () => {
    const now = await lines();
    await rewrite([...now.slice(0, 2), ...now.slice(3)]);
    expect((await chain()).problem).toMatch(
      /line 3 has number 4 where 3 belongs: entries before it were deleted/,
    );
  });

  it('the first line deleted is named too', async () => {
    await rewrite((await lines()).slice(1));
    expect((await chain()).problem).toMatch(/line 1 has number 2 where 1 belongs/);
  });

  it('reordered lines are named', async () => {
    const [a, b, c, d, e] = await lines();
    await rewrite([a, b, d, c, e].map(String));
    expect((await chain()).problem).toMatch(/line 3 has number 4 where 3 belongs/);
  });

  it('a line cut off (the file truncated mid-line) is named, and the next append keeps it visible', async () => {
    const text = await readFile(path(), 'utf8');
    await writeFile(path(), text.slice(0, text.length - 40));
    expect((await chain()).problem).toMatch(/line 5 is cut off \(the file was truncated\)/);
    await store.appendAudit(record(6));
    expect((await lines()).length).toBe(6);
    expect((await chain()).problem).toMatch(/line 5 is not a JSON record/);
  });

  it('a line stripped of its signature, or signed by another key, is named', async () => {
    const now = await lines();
    const stripped = JSON.parse(now[1] ?? '{}') as Record<string, unknown>;
    delete stripped.sig;
    now[1] = JSON.stringify(stripped);
    const resigned = JSON.parse(now[3] ?? '{}') as Record<string, unknown> & { sig: unknown };
    const { sig: _drop, ...unsigned } = resigned;
    resigned.sig = await signerFor(other).signAudit?.(unsigned as never);
    now[3] = JSON.stringify(resigned);
    await rewrite(now);
    const report = await chain();
    expect(report.breaks).toEqual([
      expect.stringMatching(/^line 2 is not signed/),
      expect.stringMatching(/^line 3 does not follow the line before it/),
      expect.stringMatching(/^line 4's signature does not match/),
      expect.stringMatching(/^line 5 does not follow the line before it/),
    ]);
  });

  it('lines from before the chain began are counted as unsigned, not as a break', async () => {
    const legacy = JSON.stringify(record(0));
    await rm(path(), { force: true });
    await writeFile(path(), `${legacy}\n`);
    await store.appendAudit(record(1));
    expect(await chain()).toMatchObject({ entries: 2, signed: 1, unsignedBefore: 1, problem: null });
  });
});
