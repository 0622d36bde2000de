// Point-in-time recovery, the runtime half: each file of the plan checked against its signed manifest while it is
// unpacked (the base into a data directory, the segments into a WAL folder), the temporary instance recovered to the
// target, then the application database's content copied out of it into the scratch database (copy-out.ts).
import { spawn } from 'node:child_process';
import { constants, createReadStream, createWriteStream } from 'node:fs';
import { access, mkdir, mkdtemp, rm, stat, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { DatabaseLocale } from '../../handlers/backup/model';
import { AppError } from '../../handlers/errors';
import type { PitrManifest } from '../../handlers/pitr/manifest';
import { identityMissing, type PitrPlan } from '../../handlers/pitr/window';
import type { Clock } from '../../handlers/ports/clock';
import type { Logger } from '../../handlers/ports/logger';
import { sha256OfFile } from '../executor/dump-file';
import { failedStage, helperEnv, processStage, type Stage } from '../executor/filters';
import { parsePostgresUrl } from '../executor/pg-env';
import { copyOut } from './copy-out';
import type { PitrStoreOptions } from './offsite';
import { fetchPitrFiles } from './offsite-restore';
import { pitrFolder } from './folder';
import { INSTANCE_PORT, prepareInstance, serverBinaries } from './instance';
import { laterCommitExists } from './waldump';
import { SEGMENT_BYTES } from './partial';
import { recoveryDirPrefix } from './orphans';
import { holdTail } from './tail-hold';

export interface RecoverRequest {
  directory: string;
  dbUrl: string;
  plan: PitrPlan;
  target: string; // ISO 8601
  /** Stop just before the first WAL record at or after this position instead (a PITR rehearsal's exact point). */
  targetLsn?: string | undefined;
  targetDatabase: string;
  locale: DatabaseLocale;
  /** Files of the plan only in the off-site store (`offsite`): downloaded into a private folder first. */
  fetch?: ReadonlySet<string> | undefined;
  offsite?: PitrStoreOptions | undefined;
  identityFile: string | undefined;
  /** The trust policy's keys: a tail replaced since the plan is judged again with them (tail-hold.ts). */
  trustedKeys?: readonly string[] | undefined;
  logger: Logger;
  clock: Clock;
}

const damaged = (file: string, why: string) =>
  new AppError(
    'PITR.FILE_DAMAGED',
    'conflict',
    `The file pitr/${file} does not match its signed manifest: ${why}.`,
    {
      suggestion:
        'Nothing was changed. The file was altered or damaged; restore to a point before it, or from a logical backup.',
    },
  );

/** What a sealed file's manifest (or the tail's) says about the stored bytes. */
type Sealed = Pick<PitrManifest, 'file' | 'sizeBytes' | 'sha256' | 'encryption'>;

/** Checks a sealed file against its signed manifest (size, SHA-256) before any of it is used. */
async function checkSealed(request: RecoverRequest, manifest: Sealed): Promise<string> {
  const path = join(pitrFolder(request.directory).root, manifest.file);
  const info = await stat(path).catch(() => null);
  if (!info) throw damaged(manifest.file, 'it is missing');
  if (info.size !== manifest.sizeBytes)
    throw damaged(manifest.file, `${info.size} bytes, ${manifest.sizeBytes} signed`);
  if ((await sha256OfFile(path)) !== manifest.sha256)
    throw damaged(manifest.file, 'its SHA-256 differs (forged or altered)');
  return path;
}

/** A checked file through age (when encrypted) and zstd into `sink`. */
async function unpack(request: RecoverRequest, manifest: Sealed, sink: Writable, sinkDone: Promise<void>) {
  const path = await checkSealed(request, manifest);
  const env = helperEnv(process.env);
  const stage = (tool: string, args: string[], what: string) =>
    processStage(tool, args, env, (stderr) =>
      failedStage('PITR.FILE_DAMAGED', `pitr/${manifest.file} ${what}`, stderr, 'Restore to another point.'),
    );
  const stages: Stage[] = [];
  if (manifest.encryption) {
    if (!request.identityFile) throw identityMissing(manifest.file);
    stages.push(stage('age', ['-d', '-i', request.identityFile], 'cannot be decrypted'));
  }
  stages.push(stage('zstd', ['-d', '-q', '-c', '-'], 'does not decompress'));
  try {
    await Promise.all([
      pipeline([createReadStream(path), ...stages.map((s) => s.stream), sink]),
      ...stages.map((s) => s.done),
      sinkDone,
    ]);
  } catch (error) {
    for (const s of stages) s.stop();
    throw error;
  }
}

function tarInto(directory: string): { stdin: Writable; done: Promise<void> } {
  const child = spawn('tar', ['-x', '-f', '-', '-C', directory], { stdio: ['pipe', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr = (stderr + c).slice(-2000)));
  child.stdin.on('error', () => {});
  const done = new Promise<void>((resolve, reject) =>
    child.once('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`tar failed: ${stderr.trim()}`)),
    ),
  );
  done.catch(() => {});
  return { stdin: child.stdin, done };
}

/** ISO 8601 to the form recovery_target_time takes. */
const asPostgresTime = (iso: string) => iso.replace('T', ' ').replace('Z', '+00');

/** The plan's files that are only in the off-site store, downloaded (each checked against its manifest). */
async function fetchFromStore(request: RecoverRequest) {
  const wanted = [request.plan.base, ...request.plan.segments].filter((m) => request.fetch?.has(m.file));
  if (wanted.length === 0) return undefined;
  if (!request.offsite) throw new Error('files of the plan are off-site, and no off-site store is set');
  const bytes = wanted.reduce((sum, m) => sum + m.sizeBytes, 0);
  request.logger.info(
    `Downloading ${wanted.length} file(s) of continuous protection (${bytes} bytes) for the restore to ${request.target}.`,
  );
  return fetchPitrFiles(request.offsite, wanted);
}

/** The server programs recovery runs, of the base backup's major; a clear refusal before anything is done. */
export async function requireServerPrograms(major: number): Promise<void> {
  const directory = serverBinaries(major);
  const missing: string[] = [];
  for (const program of ['pg_ctl', 'postgres', 'pg_waldump'])
    await access(join(directory, program), constants.X_OK).catch(() => missing.push(program));
  if (missing.length > 0)
    throw new AppError(
      'PITR.SERVER_PROGRAMS_MISSING',
      'misconfigured',
      `The PostgreSQL ${major} server programs point-in-time recovery needs are not installed: ${missing.join(', ')} not found in ${directory}.`,
      {
        suggestion: `Nothing was changed. Install Debian's postgresql-${major} there, or build the image with --build-arg PG_MAJOR=${major} (docs/pitr.md, "Where it runs").`,
      },
    );
}

export async function recoverToPoint(request: RecoverRequest): Promise<void> {
  const { plan, logger } = request;
  const major = plan.base.serverMajor;
  await requireServerPrograms(major);
  const root = await mkdtemp(recoveryDirPrefix());
  const data = join(root, 'data');
  const wal = join(root, 'wal');
  await mkdir(data, { mode: 0o700 });
  await mkdir(wal);
  const user = parsePostgresUrl(request.dbUrl).user ?? 'postgres';
  let instance: Awaited<ReturnType<typeof prepareInstance>> | undefined;
  let fetched: Awaited<ReturnType<typeof fetchPitrFiles>> | undefined;
  try {
    // First, before the capture replaces it: the tail, held in this restore's folder (tail-hold.ts).
    const held = await holdTail({ ...request, root, trustedKeys: request.trustedKeys ?? [] });
    const tail = held?.kind === 'tail' ? held.tail : undefined;
    fetched = await fetchFromStore(request);
    const from = (m: Sealed) =>
      m === tail
        ? { ...request, directory: (held as { directory: string }).directory }
        : fetched && request.fetch?.has(m.file)
          ? { ...request, directory: fetched.directory }
          : request;
    const tar = tarInto(data);
    await unpack(from(plan.base), plan.base, tar.stdin, tar.done);
    const replayed = [...plan.segments, ...(held ? [held.kind === 'tail' ? held.tail : held.segment] : [])];
    for (const segment of replayed) {
      const out = createWriteStream(join(wal, segment.segment));
      await unpack(from(segment), segment, out, new Promise((resolve) => out.once('close', () => resolve())));
    }
    // The tail holds the segment up to the flush position; PostgreSQL reads only full segments: the rest is zeros,
    // as in pg_receivewal's own .partial (recovery ends at the first record that is not there).
    if (tail) await truncate(join(wal, tail.segment), SEGMENT_BYTES);
    await fetched?.dispose();
    const last = replayed.at(-1);
    const waldump = join(serverBinaries(major), 'pg_waldump');
    // Recovery stops before the first commit after the target; without one in the WAL given, it replays all of it.
    const stopAtTarget =
      request.targetLsn !== undefined ||
      (last ? await laterCommitExists(waldump, wal, last.segment, request.target) : true);
    instance = await prepareInstance({
      root,
      data,
      walDirectory: wal,
      major,
      targetTime: stopAtTarget && request.targetLsn === undefined ? asPostgresTime(request.target) : null,
      targetLsn: request.targetLsn ?? null,
      user,
      clock: request.clock,
    });
    logger.info(
      `Recovering ${plan.base.file} and ${plan.segments.length} WAL segment(s)${held ? ` and ${held.kind === 'tail' ? `the signed tail ${held.tail.file}` : `${held.segment.file} (sealed since the plan's tail)`}` : ''} to ${request.target} in a temporary instance.`,
    );
    await instance.recover();
    await copyOut({
      dbUrl: request.dbUrl,
      logger,
      instance: { socket: root, port: INSTANCE_PORT, user, database: plan.base.database },
      major,
      targetDatabase: request.targetDatabase,
      locale: request.locale,
    });
  } finally {
    await fetched?.dispose();
    await instance?.stop();
    await rm(root, { recursive: true, force: true });
  }
}
