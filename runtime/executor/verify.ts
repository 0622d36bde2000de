// The full read of one backup without restoring it: `database-backup verify`, verify_after_backup, a dry run.
import { isAppError } from '../../handlers/errors';
import type { ReadOptions, Verification } from '../../handlers/backup/model';
import type { ExecutorContext } from './executor-context';
import { openBackup, type OpenedBackup } from './open-backup';
import { checkStoredBytes, discard, streamBackup } from './read-backup';
import { requireTool } from './executor-context';
import { findLoadRole, roleFilterFor } from './load-role';
import { LOAD_LOGIN_PREFIX } from './load-login';
import { prepareToolEnvironment } from './pg-env';

export async function verifyBackupFile(
  context: ExecutorContext,
  directory: string,
  file: string,
  options: ReadOptions,
): Promise<Verification> {
  let opened;
  try {
    opened = await openBackup(directory, file, options);
  } catch (error) {
    if (isAppError(error)) return { ok: false, reason: error.message };
    throw error;
  }
  try {
    // A signed file's stored bytes are proven first: nothing unproven is decrypted or decompressed (a same-size
    // swap for a zstd bomb is refused after one read of the file, not after gigabytes of output).
    if (opened.signed && opened.expected) await checkStoredBytes(opened);
    if (options.checkLoad) return await verifyForLoad(context, opened, options);
    const read = await streamBackup(context, opened, discard(), options);
    return { ok: true, metadata: { ...opened.description, sha256: read.sha256 } };
  } catch (error) {
    if (isAppError(error)) return { ok: false, reason: error.message };
    throw error;
  } finally {
    await opened.handle.close();
  }
}

/** The full read with the role filter of a restore in it: as whom the dump would load, which grants it would skip. */
async function verifyForLoad(
  context: ExecutorContext,
  opened: OpenedBackup,
  options: ReadOptions,
): Promise<Verification> {
  const psql = await requireTool(context, 'psql', context.serverMajor);
  const toolEnv = await prepareToolEnvironment(context.connection, context.sourceEnv, null);
  try {
    const role = await findLoadRole(context, psql, toolEnv.env);
    const filter = roleFilterFor(role);
    const read = await streamBackup(context, opened, discard(), options, undefined, [filter]);
    return {
      ok: true,
      metadata: { ...opened.description, sha256: read.sha256 },
      load: {
        role: role.setRole ?? (role.handOverTo === null ? role.sessionRole : `${LOAD_LOGIN_PREFIX}<random>`),
        superuser: false,
        ...(role.handOverTo === null ? {} : { handOverTo: role.handOverTo }),
        missingRoles: [...filter.missingRoles].sort(),
      },
    };
  } finally {
    await toolEnv.dispose();
  }
}

/** The same check outside an executor (the benchmark's diagnostics): tools from PATH; unsigned files accepted. */
export async function verifyBackup(
  directory: string,
  file: string,
  options: ReadOptions = { trustedKeys: [], allowUnsigned: true },
): Promise<Verification> {
  const silent = () => {};
  const context = {
    lookup: { pathEnv: process.env.PATH },
    sourceEnv: process.env,
    logger: { error: silent, warn: silent, info: silent, debug: silent, trace: silent },
  } as unknown as ExecutorContext;
  return verifyBackupFile(context, directory, file, options);
}
