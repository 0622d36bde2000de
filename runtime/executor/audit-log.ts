// audit.log.jsonl in the backup directory: one JSON line per record, appended and fsynced, each line linked to the
// one before it and signed by the backup-signing key (handlers/backup/audit-chain.ts). The file is private to the
// server's user: a symbolic link, another uid's file or a hard link in its place is refused, never written through.
import { constants } from 'node:fs';
import { mkdir, type FileHandle } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import {
  auditLineDigest,
  nextAuditLink,
  type AuditLink,
  type AuditSignature,
} from '../../handlers/backup/audit-chain';
import type { AuditRecord } from '../../handlers/backup/model';
import { maskSecrets } from '../observability/mask';
import { openPrivateFile } from './private-file';

export const AUDIT_LOG = 'audit.log.jsonl';

/** Signs one audit line with the backup-signing key (the server's; absent where no key is at hand). */
export type AuditSeal = (entry: AuditRecord & AuditLink) => Promise<AuditSignature>;

/** Told each line once it is on disk, before the next append starts: its link and the SHA-256 of the line. */
export type AuditWritten = (line: AuditLink & { digest: string }) => Promise<void>;

/** The last line is at most this long (a record's message is capped at 16 KiB by its writers). */
const TAIL_BYTES = 256 * 1024;

/** One append at a time per file in this process: each line must name the one truly before it. */
const queues = new Map<string, Promise<unknown>>();

async function lastLine(handle: FileHandle): Promise<string> {
  const { size } = await handle.stat();
  if (size === 0) return '';
  const length = Math.min(size, TAIL_BYTES);
  const buffer = Buffer.alloc(length);
  await handle.read(buffer, 0, length, size - length);
  const text = buffer.toString('utf8');
  const body = text.endsWith('\n') ? text.slice(0, -1) : text;
  return body.slice(body.lastIndexOf('\n') + 1);
}

export async function appendAudit(
  directory: string,
  record: AuditRecord,
  seal?: AuditSeal,
  written?: AuditWritten,
): Promise<void> {
  const root = resolve(directory);
  const path = join(root, AUDIT_LOG);
  const run = async () => {
    await mkdir(root, { recursive: true, mode: 0o700 });
    const handle = await openPrivateFile(path, constants.O_RDWR | constants.O_APPEND | constants.O_CREAT);
    try {
      const last = await lastLine(handle);
      const { size } = await handle.stat();
      // A cut-off last line stays visible as such: the new line starts on a line of its own.
      const lead = size > 0 && last !== '' && !(await endsWithNewline(handle, size)) ? '\n' : '';
      const entry = { ...record, message: maskSecrets(record.message), ...nextAuditLink(last) };
      const sig = seal ? await seal(entry) : undefined;
      const line = JSON.stringify(sig ? { ...entry, sig } : entry);
      await handle.write(`${lead}${line}\n`);
      await handle.sync();
      await written?.({ seq: entry.seq, prev: entry.prev, digest: auditLineDigest(line) });
    } finally {
      await handle.close();
    }
  };
  const before = queues.get(path) ?? Promise.resolve();
  const mine = before.catch(() => {}).then(run);
  queues.set(path, mine);
  try {
    await mine;
  } finally {
    if (queues.get(path) === mine) queues.delete(path);
  }
}

async function endsWithNewline(handle: FileHandle, size: number): Promise<boolean> {
  const one = Buffer.alloc(1);
  await handle.read(one, 0, 1, size - 1);
  return one[0] === 0x0a;
}

/** The whole audit log's text ('' when there is none yet), read without following links. */
export async function readAudit(directory: string): Promise<string> {
  let handle;
  try {
    handle = await openPrivateFile(join(resolve(directory), AUDIT_LOG), constants.O_RDONLY);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw error;
  }
  try {
    return await handle.readFile('utf8');
  } finally {
    await handle.close();
  }
}
