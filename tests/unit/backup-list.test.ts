import { describe, expect, it } from 'vitest';
import { listBackups } from '../../handlers/backup/list-backups';
import { fakeWorld } from './backup-fakes';

describe('listBackups', () => {
  it('lists newest first with verification results and problems', async () => {
    const world = fakeWorld();
    world.executor.addBackup('bomnipotent_db_20260102_000000.dump', { trigger: 'manual' });
    world.executor.addBackup('bomnipotent_db_20260103_000000.dump', { broken: 'checksum mismatch' });
    world.executor.addBackup('bomnipotent_db_20260102_000000_2.dump', { metadata: false });
    const listed = await listBackups(world.ctx);
    expect(listed.map((l) => l.file)).toEqual([
      'bomnipotent_db_20260103_000000.dump',
      'bomnipotent_db_20260102_000000_2.dump',
      'bomnipotent_db_20260102_000000.dump',
    ]);
    expect(listed[0]).toEqual({
      file: 'bomnipotent_db_20260103_000000.dump',
      path: '/backups/bomnipotent_db_20260103_000000.dump',
      takenAt: '2026-01-03T00:00:00.000Z',
      sizeBytes: 1000,
      trigger: 'scheduled',
      user: null,
      verified: false,
      state: 'untrusted',
      problem: 'checksum mismatch',
      compression: 'none',
      encrypted: false,
      sequence: 2,
      database: 'bomnipotent_db',
      serverVersion: '15.20',
      rehearsal: null,
    });
    expect(listed[1]).toMatchObject({
      verified: false,
      state: 'unsigned',
      problem: 'no signed manifest',
      trigger: null,
    });
    expect(listed[2]).toMatchObject({ verified: true, trigger: 'manual' });
    expect(listed[2]).not.toHaveProperty('problem');
  });

  it('needs the backup task', async () => {
    await expect(listBackups(fakeWorld(null).ctx)).rejects.toMatchObject({
      code: 'BACKUP.TASK_NOT_CONFIGURED',
    });
  });
});
