// Audit lines written through the executor sidecar are chained and signed like the server's own: the sidecar links
// each line and asks the server (which holds the key) to sign it; the server signs only the record it asked for.
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assessAuditChain, signAuditEntry } from '../../handlers/backup/audit-chain';
import { publicKeyId } from '../../handlers/backup/manifest';
import { bindBackupStore } from '../../runtime/backups/backup-store';
import { signerFor } from '../../runtime/backups/signing-key';
import { AUDIT_LOG } from '../../runtime/executor/audit-log';
import { createPendingSignatures } from '../../runtime/sidecar/signatures';
import { testBackupSettings } from '../support/backup-settings';
import { sidecarExecutorKind, type ExecutorUnderTest } from '../support/executors';
import { adminUrl } from '../support/pg';
import { auditRecord } from '../support/audit-records';

const key = generateKeyPairSync('ed25519').privateKey;
const keyId = publicKeyId(createPublicKey(key));
let directory: string;
let sidecar: ExecutorUnderTest;

const record = auditRecord;

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'bomnipotent-sidecar-audit-'));
  sidecar = await sidecarExecutorKind.start({ dbUrl: adminUrl(), directory });
}, 60_000);

afterAll(async () => {
  await sidecar?.close();
  if (directory) await rm(directory, { recursive: true, force: true });
});

describe('the sidecar audit log as a signed chain', () => {
  it('every line written through the sidecar is linked and signed by the server key', async () => {
    const store = bindBackupStore({
      executor: sidecar.executor,
      settings: testBackupSettings({ directory }),
      signer: () => signerFor(key),
    });
    for (let n = 1; n <= 3; n += 1) await store.appendAudit(record(n));
    const text = await readFile(join(directory, AUDIT_LOG), 'utf8');
    const lines = text.split('\n').filter(Boolean);
    expect(lines).toHaveLength(3);
    for (const [i, line] of lines.entries())
      expect(JSON.parse(line)).toMatchObject({ seq: i + 1, sig: { publicKey: keyId } });
    const report = assessAuditChain(text, [keyId]);
    expect(report).toMatchObject({ entries: 3, signed: 3, unsignedBefore: 0, breaks: [], problem: null });
    // An edited line breaks the chain, as with the in-process executor.
    const edited = text.replace('backup 2', 'backup two');
    expect(assessAuditChain(edited, [keyId]).breaks.length).toBeGreaterThan(0);
  }, 60_000);

  it('the sidecar refuses a signature that is not over the pending line', async () => {
    const pending = createPendingSignatures();
    const sent: unknown[] = [];
    const sealed = pending.remoteAuditSeal((line) => sent.push(line))({ ...record(1), seq: 1, prev: null });
    const { id } = (sent[0] as { signAudit: { id: string } }).signAudit;
    const forged = signAuditEntry({ ...record(9), seq: 1, prev: null }, key);
    expect(() => pending.accept({ id, sig: forged })).toThrow(/does not match the pending audit line/);
    await expect(sealed).rejects.toThrow(/does not match the audit line/);
  });
});
