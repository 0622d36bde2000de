// Point-in-time recovery, the runtime half: each file of the plan checked against its signed manifest while it is
// unpacked (the base into a data directory, the segments into a WAL folder), the temporary instance recovered to the
// target, then the application database's content copied out of it (pg_dump | psql) into the scratch database.
import { spawn } from 'node:child_process';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { DatabaseLocale } from '../../handlers/backup/model';
import { AppError } from '../../handlers/errors';
import type { PitrManifest } from '../../handlers/pitr/manifest';
import type { PitrPlan } from '../../handlers/pitr/window';
import type { Clock } from '../../handlers/ports/clock';
import type { Logger } from '../../handlers/ports/logger';
import { sha256OfFile } from '../executor/dump-file';
import { failedStage, helperEnv, processStage, type Stage } from '../executor/filters';
import { parsePostgresUrl, prepareToolEnvironment } from '../executor/pg-env';
import { runTool, usefulStderrLine } from '../executor/process';
import { localeArguments } from '../executor/restore';
import { findPgProgram } from './base-backup';
import { pitrFolder } from './folder';
import { INSTANCE_PORT, prepareInstance, serverBinaries } from './instance';
import { laterCommitExists } from './waldump';

export interface RecoverRequest {
  directory: string;
  dbUrl: string;
  plan: PitrPlan;
  target: string; // ISO 8601
  targetDatabase: string;
  locale: DatabaseLocale;
  identityFile: string | undefined;
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

/** Checks a sealed file against its signed manifest (size, SHA-256) before any of it is used. */
async function checkSealed(request: RecoverRequest, manifest: PitrManifest): Promise<string> {
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
async function unpack(
  request: RecoverRequest,
  manifest: PitrManifest,
  sink: Writable,
  sinkDone: Promise<void>,
) {
  const path = await checkSealed(request, manifest);
  const env = helperEnv(process.env);
  const stage = (tool: string, args: string[], what: string) =>
    processStage(tool, args, env, (stderr) =>
      failedStage('PITR.FILE_DAMAGED', `pitr/${manifest.file} ${what}`, stderr, 'Restore to another point.'),
    );
  const stages: Stage[] = [];
  if (manifest.encryption) {
    if (!request.identityFile)
      throw new AppError(
        'BACKUP.IDENTITY_MISSING',
        'misconfigured',
        `pitr/${manifest.file} is encrypted and no encryption_identity_file is set.`,
        {
          suggestion:
            'Set encryption_identity_file in the database_backup task to the age identity of one of its recipients.',
        },
      );
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

export async function recoverToPoint(request: RecoverRequest): Promise<void> {
  const { plan, logger } = request;
  const major = plan.base.serverMajor;
  const root = await mkdtemp(join(tmpdir(), 'bomnipotent-pitr-'));
  const data = join(root, 'data');
  const wal = join(root, 'wal');
  await mkdir(data, { mode: 0o700 });
  await mkdir(wal);
  const connection = parsePostgresUrl(request.dbUrl);
  let instance: Awaited<ReturnType<typeof prepareInstance>> | undefined;
  try {
    const tar = tarInto(data);
    await unpack(request, plan.base, tar.stdin, tar.done);
    for (const segment of plan.segments) {
      const out = createWriteStream(join(wal, segment.segment));
      await unpack(request, segment, out, new Promise((resolve) => out.once('close', () => resolve())));
    }
    const last = plan.segments.at(-1);
    const waldump = join(serverBinaries(major), 'pg_waldump');
    // Recovery stops before the first commit after the target; without one in the WAL given, it replays all of it.
    const stopAtTarget = last ? await laterCommitExists(waldump, wal, last.segment, request.target) : true;
    instance = await prepareInstance({
      root,
      data,
      walDirectory: wal,
      major,
      targetTime: stopAtTarget ? asPostgresTime(request.target) : null,
      user: connection.user ?? 'postgres',
      clock: request.clock,
    });
    logger.info(
      `Recovering ${plan.base.file} and ${plan.segments.length} WAL segment(s) to ${request.target} in a temporary instance.`,
    );
    await instance.recover();
    await copyOut(request, root, major, connection.user ?? 'postgres', plan.base.database);
  } finally {
    await instance?.stop();
    await rm(root, { recursive: true, force: true });
  }
}

/** createdb the scratch database on the application's server, then pg_dump (temporary instance) | psql into it. */
async function copyOut(
  request: RecoverRequest,
  socket: string,
  major: number,
  user: string,
  database: string,
) {
  const { logger } = request;
  const tools = await prepareToolEnvironment(parsePostgresUrl(request.dbUrl), process.env, null);
  try {
    const createdb = await findPgProgram('createdb', major);
    const made = await runTool({
      path: createdb,
      args: ['--template=template0', ...localeArguments(request.locale), '--', request.targetDatabase],
      env: tools.env,
      logger,
    });
    if (made.exitCode !== 0)
      throw new Error(`createdb failed: ${usefulStderrLine(made.stderr) ?? 'no message'}`);
    const pgDump = await findPgProgram('pg_dump', major);
    const psql = await findPgProgram('psql', major);
    const fromInstance: Record<string, string> = {
      ...tools.env,
      PGHOST: socket,
      PGPORT: String(INSTANCE_PORT),
      PGUSER: user,
      PGDATABASE: database,
    };
    delete fromInstance.PGPASSFILE;
    const dump: { error: string | null } = { error: null };
    const loaded = await runTool({
      path: psql,
      args: [
        '-X',
        '-q',
        '-v',
        'ON_ERROR_STOP=1',
        '--single-transaction',
        '--no-password',
        '-d',
        request.targetDatabase,
      ],
      env: tools.env,
      logger,
      feedStdin: async (stdin, kill) => {
        const dumped = await runTool({
          path: pgDump,
          args: ['--format=plain', '--no-password'],
          env: fromInstance,
          logger,
          consumeStdout: (stdout) => pipeline(stdout, stdin),
        });
        if (dumped.exitCode !== 0) {
          dump.error = usefulStderrLine(dumped.stderr) ?? 'no message';
          kill();
        }
      },
    });
    if (dump.error !== null) throw new Error(`pg_dump from the temporary instance failed: ${dump.error}`);
    if (loaded.exitCode !== 0)
      throw new Error(`psql failed: ${usefulStderrLine(loaded.stderr) ?? 'no message'}`);
  } catch (error) {
    const dropdb = await findPgProgram('dropdb', major).catch(() => null);
    if (dropdb)
      await runTool({
        path: dropdb,
        args: ['--if-exists', '--', request.targetDatabase],
        env: tools.env,
        logger,
      });
    throw error;
  } finally {
    await tools.dispose();
  }
}
