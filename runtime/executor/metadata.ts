// Reading and writing `<file>.meta.json`: a schema check on the way in, temp + fsync + rename on the way out.
import { constants } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { openPrivateFile, UnsafeFileError } from './private-file';
import { join } from 'node:path';
import { z } from 'zod';
import type { BackupMetadata } from '../../handlers/backup/model';
import { metadataFileName } from '../../handlers/backup/naming';

const metadataSchema = z.object({
  format: z.literal('bomnipotent-backup/1'),
  file: z.string(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  sizeBytes: z.number().int().nonnegative(),
  database: z.string(),
  serverVersion: z.string(),
  pgDumpVersion: z.string(),
  schemaVersion: z.number().int(),
  appVersion: z.string(),
  startedAt: z.string(),
  durationMs: z.number().nonnegative(),
  trigger: z.enum(['scheduled', 'manual']),
  user: z.string().nullable(),
});

export type MetadataRead = { ok: true; metadata: BackupMetadata } | { ok: false; reason: string };

/** The metadata of `file`, or why it cannot be trusted. */
export async function readMetadata(directory: string, file: string): Promise<MetadataRead> {
  const name = metadataFileName(file);
  let text: string;
  try {
    const handle = await openPrivateFile(join(directory, name), constants.O_RDONLY);
    try {
      text = await handle.readFile('utf8');
    } finally {
      await handle.close();
    }
  } catch (error) {
    if (error instanceof UnsafeFileError) return { ok: false, reason: error.message };
    if ((error as NodeJS.ErrnoException).code === 'ENOENT')
      return { ok: false, reason: `metadata file ${name} is missing` };
    return {
      ok: false,
      reason: `metadata file ${name} cannot be read (${(error as NodeJS.ErrnoException).code})`,
    };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ok: false, reason: `metadata file ${name} is not valid JSON` };
  }
  const parsed = metadataSchema.safeParse(json);
  if (!parsed.success) {
    const fields = [...new Set(parsed.error.issues.map((i) => i.path.join('.') || '(root)'))].join(', ');
    return {
      ok: false,
      reason: `metadata file ${name} is not bomnipotent-backup/1 metadata (bad fields: ${fields})`,
    };
  }
  if (parsed.data.file !== file) {
    return { ok: false, reason: `metadata file ${name} describes ${parsed.data.file}, not ${file}` };
  }
  return { ok: true, metadata: parsed.data };
}

/** Writes the metadata durably under its final name; the caller removes it again if the dump fails afterwards. */
export async function writeMetadata(directory: string, metadata: BackupMetadata): Promise<string> {
  const finalPath = join(directory, metadataFileName(metadata.file));
  const partialPath = join(directory, `.${metadataFileName(metadata.file)}.partial`);
  try {
    await rm(partialPath, { force: true });
    const handle = await openPrivateFile(
      partialPath,
      constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL,
    );
    try {
      await handle.writeFile(JSON.stringify(metadata, null, 2) + '\n');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(partialPath, finalPath);
  } catch (error) {
    await rm(partialPath, { force: true });
    throw error;
  }
  return finalPath;
}
