// Fault matrix, rehearsals: the server SIGKILLed (its whole process group) while a rehearsal loads a backup into its
// scratch copy. The live data and the standby of the last passed rehearsal stay as they were; the next start drops
// the half-built copy; the backup counts as not rehearsed.
import { describe, expect, it, onTestFinished } from 'vitest';
import { rehearsalLockName } from '../../handlers/backup/lock';
import { standbyName } from '../../handlers/backup/database-names';
import { beforeCompletionMarker, rewriteBackup } from '../support/restore-real';
import {
  adminQuery,
  backupFiles,
  changeContent,
  expectNothingLeft,
  openCell,
  until,
  untilPsqlSleepsIn,
} from './harness';

const oidOf = async (name: string) =>
  (await adminQuery<{ oid: string }>('SELECT oid::text FROM pg_database WHERE datname = $1', [name])).rows[0]
    ?.oid ?? null;

interface Listed {
  backups: { file: string; rehearsal: { state: string } | null }[];
}

describe('rehearsal', () => {
  it('SIGKILL while a rehearsal loads its copy: the data and the last standby stay, the half copy is dropped at start', async () => {
    const w = await openCell('fx_kreh');
    onTestFinished(() => w.close());
    // Plain files: the cell edits the second dump's text so that its rehearsal lasts.
    await w.start('compression = "none"\nrehearse = true');
    expect((await w.client('database-backup', 'create')).exitCode).toBe(0);
    await w.server!.waitFor(/Rehearsal of backup '[^']+' passed/, 60_000);
    const standby = standbyName(w.db.name);
    const standbyOid = await oidOf(standby);
    expect(standbyOid).not.toBeNull();

    await changeContent(w.db.name);
    const liveFp = await w.fingerprint();
    // A second backup, rehearsed by hand while psql sleeps inside the load.
    await w.server!.stop();
    await w.start('compression = "none"');
    expect((await w.client('database-backup', 'create')).exitCode).toBe(0);
    const second = backupFiles(w).at(-1)!;
    await rewriteBackup(w.directory, second, (sql) => beforeCompletionMarker(sql, 'SELECT pg_sleep(60);'));
    const rehearsing = w.client('database-backup', 'rehearse', '--file', second);
    await untilPsqlSleepsIn(`${w.db.name}\\_rehearsal\\_%`, 'psql to be inside the rehearsal copy');
    await w.server!.kill();
    void rehearsing.catch(() => {}); // it follows its operation across the kill; the restart is what counts

    await until('the killed rehearsal lock session to end', async () => {
      const { rows } = await adminQuery(
        `SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND objid::bigint = (hashtext($1)::bigint & 4294967295)`,
        [rehearsalLockName(w.db.name)],
      );
      return rows.length === 0 ? true : undefined;
    });
    await w.start('compression = "none"');
    await w.server!.waitFor(
      /Dropped '[^']+_rehearsal_[^']+', the unfinished copy of an interrupted rehearsal/,
    );

    expect(await w.fingerprint()).toBe(liveFp);
    expect(await oidOf(standby)).toBe(standbyOid); // the last passed rehearsal's standby, untouched
    const listed = JSON.parse((await w.client('-o', 'raw', 'database-backup', 'list')).stdout) as Listed;
    const byFile = new Map(listed.backups.map((b) => [b.file, b.rehearsal?.state ?? null]));
    expect(byFile.get(second)).not.toBe('passed');
    expect([...byFile.values()]).toContain('passed');
    await expectNothingLeft(w, [standby], { serverWasKilled: true });
  });
});
