import { describe, it, expect } from 'vitest';
import { recoverInterruptedRestore } from '../../handlers/backup/recover';
import { createFakeWorld } from '../support/restore-fakes';

describe('recoverInterruptedRestore with fakes', () => {
  it('does nothing when no restore was interrupted', async () => {
    const w = createFakeWorld();
    w.databases.set('app_other', 'unrelated');
    const report = await recoverInterruptedRestore(w.ctx);
    expect(report).toEqual({
      skipped: false,
      renamedBack: null,
      droppedScratch: [],
      keptAside: [],
      madeWritable: [],
    });
    expect(w.events).toEqual([]);
  });

  it('drops leftover scratch databases when the database exists', async () => {
    const w = createFakeWorld();
    w.databases.set('app_restore_20260101000000', 'half');
    w.databases.set('app_restore_notastamp', 'not ours');
    const report = await recoverInterruptedRestore(w.ctx);
    expect(report.droppedScratch).toEqual(['app_restore_20260101000000']);
    expect([...w.databases.keys()].sort()).toEqual(['app', 'app_restore_notastamp']);
    expect(w.logs.join('\n')).toContain("Dropped 'app_restore_20260101000000'");
  });

  it('renames the newest aside copy back when the database is missing, then drops the scratch copy', async () => {
    const w = createFakeWorld();
    w.databases.delete('app');
    w.databases.set('app_pre_restore_20250101000000', 'very old, kept on purpose');
    w.databases.set('app_pre_restore_20260101000000', 'previous');
    w.databases.set('app_restore_20260101000000', 'restored');
    const report = await recoverInterruptedRestore(w.ctx);
    expect(report.renamedBack).toBe('app_pre_restore_20260101000000');
    expect(w.databases.get('app')).toBe('previous');
    expect(w.databases.has('app_restore_20260101000000')).toBe(false);
    expect(report.keptAside).toEqual(['app_pre_restore_20250101000000']);
    expect(w.logs.join('\n')).toMatch(/renamed 'app_pre_restore_20260101000000' back to 'app'/);
  });

  it('never drops a scratch database while the main database is missing', async () => {
    const w = createFakeWorld();
    w.databases.delete('app');
    w.databases.set('app_restore_20260101000000', 'only copy');
    const report = await recoverInterruptedRestore(w.ctx);
    expect(report.droppedScratch).toEqual([]);
    expect(w.databases.get('app_restore_20260101000000')).toBe('only copy');
    expect(w.logs.join('\n')).toContain('[ERROR]');
  });

  it('keeps aside copies next to an existing database and warns with how to drop them', async () => {
    const w = createFakeWorld();
    w.databases.set('app_pre_restore_20260101000000', 'previous');
    const report = await recoverInterruptedRestore(w.ctx);
    expect(report.keptAside).toEqual(['app_pre_restore_20260101000000']);
    expect(w.databases.get('app_pre_restore_20260101000000')).toBe('previous');
    expect(w.logs.join('\n')).toMatch(/\[WARN\] Kept 'app_pre_restore_20260101000000'.*DROP DATABASE/);
  });

  it('does not warn about aside copies kept on purpose (keepOldDatabase)', async () => {
    const w = createFakeWorld();
    w.settings.keepOldDatabase = true;
    w.databases.set('app_pre_restore_20260101000000', 'previous');
    await recoverInterruptedRestore(w.ctx);
    expect(w.logs.join('\n')).not.toContain('[WARN]');
  });

  it('skips everything while another process holds the backup/restore lock', async () => {
    const w = createFakeWorld();
    w.databases.set('app_restore_20260101000000', 'being built by a replica');
    w.readOnly.add('app'); // that replica's restore holds it read-only on purpose
    w.lockHeld.value = true;
    const report = await recoverInterruptedRestore(w.ctx);
    expect(report.skipped).toBe(true);
    expect(w.databases.has('app_restore_20260101000000')).toBe(true);
    expect([...w.readOnly]).toEqual(['app']);
  });

  it('makes the database and a kept aside copy writable again when a killed restore left them read-only', async () => {
    const w = createFakeWorld();
    w.databases.set('app_pre_restore_20260101000000', 'previous');
    w.readOnly.add('app');
    w.readOnly.add('app_pre_restore_20260101000000');
    const report = await recoverInterruptedRestore(w.ctx);
    expect(report.madeWritable).toEqual(['app', 'app_pre_restore_20260101000000']);
    expect([...w.readOnly]).toEqual([]);
    expect(w.logs.join('\n')).toMatch(/\[WARN\] 'app' was left read-only by an interrupted restore/);
  });

  it('a database renamed back during recovery does not stay read-only', async () => {
    const w = createFakeWorld();
    w.databases.delete('app');
    w.databases.set('app_pre_restore_20260101000000', 'previous');
    w.readOnly.add('app_pre_restore_20260101000000');
    const report = await recoverInterruptedRestore(w.ctx);
    expect(report.renamedBack).toBe('app_pre_restore_20260101000000');
    expect(report.madeWritable).toEqual(['app']);
    expect([...w.readOnly]).toEqual([]);
  });
});
