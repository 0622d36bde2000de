// The PITR rehearsal's store side: the source's counts at an exact point (count-mark.ts) and the signed record of the
// last rehearsal, `<directory>/pitr/rehearsal.json` (written whole under a temporary name, fsynced, renamed).
import { open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { readPitrRehearsal } from '../../handlers/pitr/rehearsal-record';
import type { PitrRehearsalStore } from '../../handlers/ports/backup-store';
import type { ManifestSigner } from '../../handlers/ports/manifest-signer';
import type { Clock } from '../../handlers/ports/clock';
import { fsyncDirectory } from '../executor/dump-file';
import { takeCountMark } from './count-mark';
import { pitrFolder } from './folder';

export const PITR_REHEARSAL_FILE = 'rehearsal.json';

export function pitrRehearsalStore(options: {
  directory: string;
  dbUrl: string;
  database: string;
  clock: Clock;
  signer: () => ManifestSigner;
  trustedKeys: () => readonly string[];
}): PitrRehearsalStore {
  const { root } = pitrFolder(options.directory);
  const path = join(root, PITR_REHEARSAL_FILE);
  return {
    countMark: () => takeCountMark({ dbUrl: options.dbUrl, clock: options.clock }),
    async write(record) {
      const signer = options.signer();
      if (!signer.signPitrRehearsal)
        throw new Error('the backup-signing key cannot sign PITR rehearsal records here');
      const text = await signer.signPitrRehearsal(record);
      const temporary = `${path}.part`;
      const handle = await open(temporary, 'w', 0o600);
      try {
        await handle.writeFile(text);
        await handle.sync();
      } catch (error) {
        await rm(temporary, { force: true });
        throw error;
      } finally {
        await handle.close();
      }
      await rename(temporary, path);
      await fsyncDirectory(root);
    },
    async read() {
      const text = await readFile(path, 'utf8').catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') return null;
        throw error;
      });
      if (text === null) return null;
      return readPitrRehearsal(text, options.trustedKeys(), options.database);
    },
  };
}
