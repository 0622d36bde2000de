// A recording fake of the Executor port for the sidecar's unit tests: it remembers every call and can be made to
// fail or to hang until aborted. The real executor is exercised by the process tests.
import type {
  AuditRecord,
  BackupMetadata,
  BackupMetadataSeed,
  CatalogEntry,
} from '../../handlers/backup/model';
import type { Executor } from '../../runtime/executor/executor';
import { manifestFor } from './restore-fakes';

export interface FakeCall {
  operation: string;
  args: unknown[];
  signal?: AbortSignal | undefined;
}

export interface FakeExecutor extends Executor {
  calls: FakeCall[];
  /** Manifest files the dump got back from its signer. */
  signed: string[];
  /** When set, the next operation throws this instead of answering. */
  failWith: unknown;
  /** When true, dump and restore wait until their signal aborts. */
  hang: boolean;
}

/** What a server sends with a dump of the sidecar tests' database. */
export function seedFor(trigger: 'manual' | 'scheduled', user: string | null): BackupMetadataSeed {
  return {
    format: 'bomnipotent-backup/2',
    database: 'bomnipotent',
    serverVersion: '15.20',
    schemaVersion: 1,
    appVersion: '0.1.0',
    startedAt: '2026-01-11T10:30:24.000Z',
    trigger,
    user,
  };
}

export function metadataFor(file: string, seed: BackupMetadataSeed): BackupMetadata {
  return { ...seed, file, sha256: 'ab'.repeat(32), sizeBytes: 1234, durationMs: 5, pgDumpVersion: '15.20' };
}

/** The entry a dump of `seed` returns: signed through the signer it was given (over the sidecar: a round trip). */
export function entryFor(file: string, seed: BackupMetadataSeed): CatalogEntry {
  return {
    file,
    path: `/backups/${file}`,
    sizeBytes: 1234,
    state: 'trusted',
    reason: null,
    manifest: manifestFor(file, metadataFor(file, seed)),
    legacy: null,
  };
}

export function createFakeExecutor(entries: CatalogEntry[] = []): FakeExecutor {
  const fake: FakeExecutor = {
    calls: [],
    signed: [],
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
    async dump({ directory, seed, signer, signal }) {
      record('dump', [directory, seed], signal);
      if (fake.hang) await untilAborted(signal);
      const entry = entryFor(`${seed.database}_20260111_103024.dump`, seed);
      // Signing goes through the signer the executor was given: over the sidecar, a round trip to the server.
      fake.signed.push(await signer.sign(entry.manifest!));
      return entry;
    },
    async list({ directory, trust }) {
      record('list', [directory, trust]);
      return entries;
    },
    async verify(directory, file, options) {
      record('verify', [directory, file, options]);
      return { ok: false, reason: 'checksum mismatch' };
    },
    async prune(request) {
      record('prune', [request]);
      return { removed: [], kept: 0 };
    },
    async remove(directory, file) {
      record('remove', [directory, file]);
    },
    async freeBytes(directory) {
      record('freeBytes', [directory]);
      return 42_000_000;
    },
    async restore({ directory, file, targetDatabase, read, signal }) {
      record('restore', [directory, file, targetDatabase, read], signal);
      if (fake.hang) await untilAborted(signal);
      return { copyRows: {} };
    },
    async writeRehearsal(directory: string, file: string) {
      record('writeRehearsal', [directory, file]);
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
