// The audit log's head anchored in the server's database (audit_anchor), on real PostgreSQL: deleting the newest
// lines of audit.log.jsonl, which the file's own chain cannot show, is named against the anchor, also once more lines
// were written after the cut; a restore (which swaps in a database holding an older anchor, or one of another
// directory's log) does not look like tampering: it re-anchors at its own line.
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { restoreBackup } from '../../handlers/backup/restore-backup';
import { auditLineDigest, type AuditChainReport } from '../../handlers/backup/audit-chain';
import type { BackupStore } from '../../handlers/ports/backup-store';
import { AUDIT_LOG } from '../../runtime/executor/audit-log';
import { auditRecord } from '../support/audit-records';
import { createTestDatabase, type TestDatabase } from '../support/pg';
import {
  createRealContext,
  makeBackup,
  migrateToLatest,
  type RealRestoreWorld,
} from '../support/restore-real';
import { tearDown } from '../support/teardown';

let database: TestDatabase;
let directory: string;
let world: RealRestoreWorld;

const path = () => join(directory, AUDIT_LOG);
const lines = async () => (await readFile(path(), 'utf8')).split('\n').filter((l) => l !== '');
const store = (): BackupStore => {
  const task = world.ctx.task.snapshot();
  if (!task) throw new Error('the world has a backup task');
  return task.store;
};
const append = async (from: number, to: number) => {
  for (let n = from; n <= to; n += 1) await store().appendAudit(auditRecord(n));
};
const chain = async (): Promise<AuditChainReport> => {
  const report = await store().auditChain?.();
  if (!report) throw new Error('the local executor reads the audit log');
  return report;
};
const anchored = async () =>
  (await world.db.query<{ seq: number }>('SELECT seq::int AS seq FROM audit_anchor')).rows.map((r) => r.seq);

beforeAll(async () => {
  database = await createTestDatabase('baanchor');
  directory = await mkdtemp(join(tmpdir(), 'bomnipotent-audit-anchor-'));
});
afterAll(() => tearDown({ db: database, dirs: [directory] }));

beforeEach(async () => {
  world = createRealContext({ url: database.url, directory, anchorAudit: true });
  await migrateToLatest(world);
  await world.db.query('DELETE FROM audit_anchor');
});
afterEach(async () => {
  await world.close();
  for (const entry of await readdir(directory))
    await rm(join(directory, entry), { recursive: true, force: true });
});

describe('the audit log anchored in the database', () => {
  it('deleting the newest lines is named, and stays named after more lines are written', async () => {
    await append(1, 5);
    expect(await anchored()).toEqual([5]);
    expect((await chain()).problem).toBeNull();

    // The attack: the last two lines deleted; the file's own chain is whole.
    await writeFile(
      path(),
      (await lines())
        .slice(0, 3)
        .map((l) => `${l}\n`)
        .join(''),
    );
    const cut = await chain();
    expect(cut.breaks).toEqual([
      'the audit trail ends at 3 but the database records 5: lines were removed from its end',
    ]);
    expect(cut.problem).toContain('the audit trail ends at 3 but the database records 5: lines were removed');

    // Writing on does not wash it out: the anchor stays at the deleted line.
    await append(6, 8);
    expect(await anchored()).toEqual([5]);
    const after = await chain();
    expect(after.breaks).toEqual([
      "the audit trail's entry 5 is not the one the database records: lines were removed from its end and others written after them",
    ]);
    expect(after.signed).toBe(6);
  });

  it('an anchor that fell behind (a failed move) moves on while the file holds its line', async () => {
    await append(1, 3);
    await world.db.query('UPDATE audit_anchor SET seq = 2, digest = $1', [
      auditLineDigest((await lines())[1] ?? ''),
    ]);
    await append(4, 4);
    expect(await anchored()).toEqual([4]);
    expect((await chain()).problem).toBeNull();
  });

  it('a restore swaps in an older anchor without a false alarm, and re-anchors at its own line', async () => {
    await append(1, 2);
    await makeBackup(world, new Date('2026-01-01T00:00:00Z'));
    await append(3, 5);
    await restoreBackup({ user: 'admin@example.com', allowNoAdmin: true }, world.ctx);
    const written = (await lines()).map((l) => JSON.parse(l) as { seq: number; action: string });
    expect(written.at(-1)).toMatchObject({ action: 'restore' });
    expect(await anchored()).toEqual([written.at(-1)?.seq]);
    expect((await chain()).problem).toBeNull();
  });

  it("a restored database anchored to another directory's log is re-anchored by the restore", async () => {
    await append(1, 6);
    await makeBackup(world, new Date('2026-01-01T00:00:00Z'));
    // The backup holds the anchor 6; this directory's log starts anew (a new server's directory).
    await rm(path());
    await restoreBackup({ user: 'admin@example.com', allowNoAdmin: true }, world.ctx);
    const written = await lines();
    expect(written.length).toBeLessThan(6);
    expect(await anchored()).toEqual([written.length]);
    expect((await chain()).problem).toBeNull();
  });
});
