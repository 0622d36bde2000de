// A restore to a point runs the server programs of the base backup's major (pg_ctl, postgres, pg_waldump), which the
// embedded quick start's package lacks in part: the check names what is missing and where it looked, before anything
// is done (also for a dry run, handlers/pitr/restore-to-point.ts).
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { requireServerPrograms } from '../../runtime/pitr/recover';

describe('the server programs of a restore to a point', () => {
  it('refuses a major whose programs are not installed, naming each program and the folder', async () => {
    expect(existsSync('/usr/lib/postgresql/99')).toBe(false);
    await expect(requireServerPrograms(99)).rejects.toMatchObject({
      code: 'PITR.SERVER_PROGRAMS_MISSING',
      message:
        'The PostgreSQL 99 server programs point-in-time recovery needs are not installed: pg_ctl, postgres, pg_waldump not found in /usr/lib/postgresql/99/bin.',
      suggestion: expect.stringContaining("Nothing was changed. Install Debian's postgresql-99 there"),
    });
  });

  it.skipIf(!existsSync('/usr/lib/postgresql/15/bin/pg_waldump'))('accepts an installed major', async () => {
    await expect(requireServerPrograms(15)).resolves.toBeUndefined();
  });
});
