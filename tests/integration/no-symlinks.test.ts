// No symlinks: a file the server writes or reads in the backup directory is never reached through a symbolic link,
// never another uid's file and, to write, never a second name of another file. Before, a symlink from
// audit.log.jsonl to config.toml made the next backup append its JSON line to the configuration.
import { chown, link, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createBackup } from '../../handlers/backup/create-backup';
import type { AuditRecord } from '../../handlers/backup/model';
import { AUDIT_LOG } from '../../runtime/executor/catalog';
import type { RealRestoreWorld } from '../support/restore-real';
import { openRealWorld, type RealWorldFixture } from '../support/real-world';

const CONFIG = '[server]\nlisten = "127.0.0.1:8080"\n';

let fixture: RealWorldFixture;
let root: string;
let directory: string;
let config: string;
let world: RealRestoreWorld;

const record: AuditRecord = {
  at: new Date().toISOString(),
  action: 'backup',
  outcome: 'succeeded',
  user: 'admin@example.com',
  trigger: 'manual',
  file: null,
  message: 'test',
};

beforeEach(async () => {
  ({ root, directory, world } = fixture = await openRealWorld('bnolink', { subdirectory: 'backups' }));
  config = join(root, 'config.toml');
  await writeFile(config, CONFIG, { mode: 0o600 });
});
afterEach(() => fixture.close());

describe('the audit log is never written through a link', () => {
  it('a symlink to the config: the backup succeeds, the config is untouched, the log says why', async () => {
    await createBackup({ trigger: 'manual', user: 'admin@example.com' }, world.ctx); // creates the directory
    await rm(join(directory, AUDIT_LOG));
    await symlink(config, join(directory, AUDIT_LOG));
    await createBackup({ trigger: 'manual', user: 'admin@example.com' }, world.ctx);
    expect(await readFile(config, 'utf8')).toBe(CONFIG);
    expect(world.logs.join('\n')).toMatch(/audit log.*symbolic link/);
  });

  it('a hard link to the config, or a file of another uid: refused, nothing appended', async () => {
    await world.executor.appendAudit(directory, record);
    await rm(join(directory, AUDIT_LOG));
    await link(config, join(directory, AUDIT_LOG));
    await expect(world.executor.appendAudit(directory, record)).rejects.toThrow(/hard link/);
    expect(await readFile(config, 'utf8')).toBe(CONFIG);
    if (process.getuid?.() === 0) {
      await rm(join(directory, AUDIT_LOG));
      await writeFile(join(directory, AUDIT_LOG), '');
      await chown(join(directory, AUDIT_LOG), 65534, 65534);
      await expect(world.executor.appendAudit(directory, record)).rejects.toThrow(/owned by uid 65534/);
    }
  });

  it("a rehearsal record's temporary name planted as a symlink is replaced, not written through", async () => {
    const { metadata } = await createBackup({ trigger: 'manual', user: 'admin@example.com' }, world.ctx);
    const temporary = join(directory, `${metadata.file}.rehearsal.json.partial`);
    await symlink(config, temporary);
    await world.executor.writeRehearsal(directory, metadata.file, '{"x":1}');
    expect(await readFile(config, 'utf8')).toBe(CONFIG);
    expect(await readFile(join(directory, `${metadata.file}.rehearsal.json`), 'utf8')).toBe('{"x":1}');
  });
});
