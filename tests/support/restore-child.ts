// Runs one complete restore in a process of its own, so that a test can SIGKILL it at a chosen moment.
// BOMNIPOTENT_TEST_PAUSE_AT=<phase> makes it stop there (after printing "PAUSED <phase>") through the handler's
// test hooks; the handler itself never reads the environment.
import { restoreBackup, type RestoreHooks } from '../../handlers/backup/restore-backup';
import { createRealContext } from './restore-real';

const url = process.env.RESTORE_CHILD_DB_URL;
const directory = process.env.RESTORE_CHILD_DIR;
if (!url || !directory) throw new Error('RESTORE_CHILD_DB_URL and RESTORE_CHILD_DIR are required');
const pauseAt = process.env.BOMNIPOTENT_TEST_PAUSE_AT;

const world = createRealContext({ url, directory });
const hooks: RestoreHooks = {
  reached: async (phase) => {
    process.stdout.write(`REACHED ${phase}\n`);
    if (phase !== pauseAt) return;
    process.stdout.write(`PAUSED ${phase}\n`);
    // Wait to be killed; the interval keeps the event loop alive.
    await new Promise(() => setInterval(() => {}, 1000));
  },
};
try {
  const result = await restoreBackup({ user: 'crash-test@example.com' }, world.ctx, hooks);
  process.stdout.write(`DONE ${result.path}\n`);
} finally {
  await world.close();
}
