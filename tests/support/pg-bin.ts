// Where this machine's PostgreSQL programs are: PGTEST_BINDIR when set, else the newest major installed under
// Debian's /usr/lib/postgresql/<major>/bin (15 on the CI host, 17 in the image of `npm run test:pg17`).
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = '/usr/lib/postgresql';

function newestInstalled(): string {
  const majors = existsSync(ROOT)
    ? readdirSync(ROOT)
        .filter((name) => /^\d+$/.test(name) && existsSync(join(ROOT, name, 'bin', 'psql')))
        .map(Number)
        .sort((a, b) => b - a)
    : [];
  return join(ROOT, String(majors[0] ?? 15), 'bin');
}

/** The directory of psql, pg_dump, createdb, dropdb (and initdb, pg_ctl where the server is installed). */
export const PG_BIN = process.env.PGTEST_BINDIR || newestInstalled();
