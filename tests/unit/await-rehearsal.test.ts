// `database-backup create --wait-rehearsal` on the server's side: the warning for a rehearsal that was not queued, or
// superseded by a newer backup's in a burst (the real queue; the failing load itself is in tests/e2e/rehearsal.test.ts).
import { describe, expect, it } from 'vitest';
import { awaitRehearsal, createRehearsalQueue } from '../../handlers/backup/rehearsal-queue';
import { defaultSettings, fakeWorld } from './backup-fakes';

describe('awaitRehearsal', () => {
  it('says that nothing was queued when rehearse is off', async () => {
    const world = fakeWorld(defaultSettings({ rehearse: false }));
    expect(await awaitRehearsal(world.ctx, 'db_20260101_000000.dump')).toBe(
      'No rehearsal was queued: `rehearse` is off for the database_backup task, so --wait-rehearsal waited for nothing.',
    );
  });

  it('names the newer backup that took the place of a queued one in a burst', async () => {
    const world = fakeWorld(defaultSettings({ rehearse: true }));
    const queue = createRehearsalQueue(world.ctx);
    world.ctx.rehearsals = queue;
    queue.enqueue('db_20260101_000000.dump'); // runs at once
    queue.enqueue('db_20260101_000001.dump'); // waits ...
    queue.enqueue('db_20260101_000002.dump'); // ... and is replaced by this one
    expect(await awaitRehearsal(world.ctx, 'db_20260101_000001.dump')).toBe(
      "The rehearsal of this backup did not run: a newer backup ('db_20260101_000002.dump') was queued after it, and a burst rehearses only the newest.",
    );
  });
});
