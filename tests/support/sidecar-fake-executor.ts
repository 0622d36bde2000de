// A recording fake of the Executor port for the sidecar's unit tests: it remembers every call and can be made to
// fail or to hang until aborted. The real executor is exercised by the process tests.
import type {
  AuditRecord,
  BackupEntry,
  BackupMetadata,
  BackupMetadataSeed,
  Executor,
} from '../../handlers/ports';

export interface FakeCall {
  operation: string;
  args: unknown[];
  signal?: AbortSignal | undefined;
}

export interface FakeExecutor extends Executor {
  calls: FakeCall[];
  /** When set, the next operation throws this instead of answering. */
  failWith: unknown;
  /** When true, dump and restore wait until their signal aborts. */
  hang: boolean;
}

export function metadataFor(file: string, seed: BackupMetadataSeed): BackupMetadata {
  return { ...seed, file, sha256: 'ab'.repeat(32), sizeBytes: 1234, durationMs: 5, pgDumpVersion: '15.20' };
}

export function createFakeExecutor(entries: BackupEntry[] = []): FakeExecutor {
  const fake: FakeExecutor = {
    calls: [],
    failWith: undefined,
    hang: false,
    async probe(serverMajor) {
      record('probe', [serverMajor]);
      return {
        pgDumpPath: '/usr/bin/pg_dump',
        pgDumpVersion: `${serverMajor}.1`,
        psqlPath: null,
        createdbPath: null,
        dropdbPath: null,
        problems: [],
      };
    },
    async dump({ directory, file, seed, signal }) {
      record('dump', [directory, file, seed], signal);
      if (fake.hang) await untilAborted(signal);
      return metadataFor(file, seed);
    },
    async list(directory) {
      record('list', [directory]);
      return entries;
    },
    async verify(directory, file) {
      record('verify', [directory, file]);
      return { ok: false, reason: 'checksum mismatch' };
    },
    async remove(directory, file) {
      record('remove', [directory, file]);
    },
    async freeBytes(directory) {
      record('freeBytes', [directory]);
      return 42_000_000;
    },
    async restore({ directory, file, targetDatabase, signal }) {
      record('restore', [directory, file, targetDatabase], signal);
      if (fake.hang) await untilAborted(signal);
    },
    async appendAudit(directory: string, auditRecord: AuditRecord) {
      record('appendAudit', [directory, auditRecord]);
    },
  };
  function record(operation: string, args: unknown[], signal?: AbortSignal) {
    fake.calls.push({ operation, args, signal });
    if (fake.failWith !== undefined) {
      const error = fake.failWith;
      fake.failWith = undefined;
      throw error as Error;
    }
  }
  return fake;
}

function untilAborted(signal: AbortSignal | undefined): Promise<never> {
  return new Promise((_resolve, reject) => {
    if (!signal) return;
    if (signal.aborted) reject(new Error('aborted'));
    signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true });
  });
}
