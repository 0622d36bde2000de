// A physical base backup for continuous protection: pg_basebackup (tar, with the WAL it needs, -X fetch) sealed like
// a segment (zstd, age when configured) into <directory>/pitr/base/, and its signed manifest, which names the WAL
// segments it starts and ends in and the head of the logical backups' chain.
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { manifestDigest } from '../../handlers/backup/manifest';
import { nameStamp } from '../../handlers/backup/naming';
import type { BackupTaskSettings } from '../../handlers/backup/settings';
import type { PitrManifest } from '../../handlers/pitr/manifest';
import type { Clock } from '../../handlers/ports/clock';
import type { Logger } from '../../handlers/ports/logger';
import { listCatalog } from '../executor/catalog';
import type { ToolEnvironment } from '../executor/pg-env';
import { runTool, usefulStderrLine } from '../executor/process';
import { findTool, toolSearchPath } from '../executor/tools';
import type { ManifestFields } from './chain-writer';
import { sealInto, type PitrFolder } from './folder';
import { lsnSegment } from './lsn';
import type { ServerFacts } from './preflight';

export async function findPgProgram(name: string, major: number): Promise<string> {
  const found = await findTool(name, await toolSearchPath({ pathEnv: process.env.PATH }, major));
  if (!found) throw new Error(`${name} was not found (install postgresql-client-${major}).`);
  return found;
}

export function encryptionOf(settings: BackupTaskSettings) {
  return settings.encryptionRecipients.length > 0
    ? { scheme: 'age' as const, recipients: settings.encryptionRecipients }
    : null;
}

/** What every sealed file's manifest (base, segment, tail) says of how it is stored and whose WAL it is. */
export function storedFacts(settings: BackupTaskSettings, facts: ServerFacts) {
  return {
    compression: 'zstd' as const,
    encryption: encryptionOf(settings),
    systemIdentifier: facts.systemIdentifier,
    database: facts.database,
    serverMajor: facts.major,
  };
}

export async function takeBaseBackup(o: {
  facts: ServerFacts;
  tools: ToolEnvironment;
  settings: BackupTaskSettings;
  folder: PitrFolder;
  append: (fields: ManifestFields) => Promise<PitrManifest>;
  trustedKeys: () => readonly string[];
  clock: Clock;
  logger: Logger;
  signal: AbortSignal;
}): Promise<void> {
  const { facts, tools, settings, folder, clock, logger } = o;
  const basebackup = await findPgProgram('pg_basebackup', facts.major);
  const startedAt = clock.now();
  const file = `base/${nameStamp(startedAt)}.tar.zst${settings.encryptionRecipients.length > 0 ? '.age' : ''}`;
  let sealed: { sizeBytes: number; sha256: string } | undefined;
  const run = await runTool({
    path: basebackup,
    args: ['-D', '-', '-Ft', '-X', 'fetch', '--checkpoint=fast', '--verbose', '--no-password'],
    env: tools.env,
    logger,
    signal: o.signal,
    consumeStdout: async (stdout) => {
      sealed = await sealInto(folder.root, file, stdout, settings.encryptionRecipients);
    },
  });
  const start = /write-ahead log start point: ([0-9A-F]+\/[0-9A-F]+) on timeline (\d+)/.exec(run.stderr);
  const end = /write-ahead log end point: ([0-9A-F]+\/[0-9A-F]+)/.exec(run.stderr);
  if (run.exitCode !== 0 || !sealed || !start || !end) {
    await rm(join(folder.root, file), { force: true });
    throw new Error(`pg_basebackup failed: ${usefulStderrLine(run.stderr) ?? 'no message'}`);
  }
  const timeline = Number(start[2]);
  const logical = await logicalHead(settings.directory, o.trustedKeys());
  await o.append({
    kind: 'base',
    file,
    ...sealed,
    ...storedFacts(settings, facts),
    segment: lsnSegment(start[1]!, timeline),
    endSegment: lsnSegment(end[1]!, timeline),
    coversUntil: clock.now().toISOString(),
    createdAt: startedAt.toISOString(),
    logicalHeadSha256: logical,
  });
  logger.info(`Continuous protection: base backup ${file} taken (${sealed.sizeBytes} bytes).`);
}

/** The digest of the newest trusted logical backup's manifest: the PITR chain's anchor in the logical one. */
async function logicalHead(directory: string, trustedKeys: readonly string[]): Promise<string | null> {
  const entries = await listCatalog(directory, { trustedKeys: [...trustedKeys] }).catch(() => []);
  let newest = null;
  for (const e of entries)
    if (e.state === 'trusted' && e.manifest && (!newest || e.manifest.sequence > newest.sequence))
      newest = e.manifest;
  return newest ? manifestDigest(newest) : null;
}
