// Wires the off-site use cases to a task's snapshot: one S3 store per distinct `offsite` setting and directory.
import type { BackupTask } from '../../handlers/ports/backup-store';
import type {
  OffsiteContext,
  OffsiteFormat,
  OffsiteHooks,
  OffsiteMetrics,
} from '../../handlers/offsite/context';
import type { OffsiteSettings } from '../../handlers/offsite/model';
import type { OffsiteStore } from '../../handlers/ports/offsite-store';
import type { ExecutorSettings } from '../../handlers/backup/settings';
import { createSidecarExecutor } from '../sidecar/client';
import type { Clock } from '../../handlers/ports/clock';
import type { Logger } from '../../handlers/ports/logger';
import type { Notifier } from '../../handlers/ports/notifier';
import { copyToOffsite } from '../../handlers/offsite/copy';
import { fetchForRestore } from '../../handlers/offsite/fetch';
import { readOffsiteCatalog } from '../../handlers/offsite/trusted';
import { OFFSITE_NAMING } from './backup-format';
import { createLazyS3OffsiteStore } from './s3-store';
import type { OffsiteRun } from '../db/offsite-state';

export interface OffsiteHooksOptions {
  format: OffsiteFormat;
  metrics: OffsiteMetrics;
  clock: Clock;
  logger: Logger;
  notifier?: Notifier;
  /** Records each copy run in the shared database for the status at a glance (absent in tests that do not need it). */
  record?: (location: string, run: OffsiteRun) => Promise<void>;
}

export function createOffsiteContext(options: OffsiteHooksOptions): OffsiteContext {
  let cached: { key: string; store: OffsiteStore } | undefined;
  const storeFor = (task: BackupTask): OffsiteStore | undefined => {
    const { settings, store: local } = task;
    const offsite = settings.offsite;
    if (!offsite) return undefined;
    const key = JSON.stringify([offsite, settings.executor, local.directory]);
    if (cached?.key !== key) {
      const s3 = createLazyS3OffsiteStore({
        settings: offsite,
        naming: OFFSITE_NAMING,
        directory: local.directory,
        now: () => options.clock.now(),
      });
      cached = { key, store: withTransfersWhereTheFilesAre(s3, offsite, settings.executor, local.directory) };
    }
    return cached.store;
  };
  return { ...options, storeFor, memory: new Map() };
}

export function createOffsiteHooks(options: OffsiteHooksOptions): OffsiteHooks {
  const ctx = createOffsiteContext(options);
  return {
    copy: async (task) => {
      const report = await copyToOffsite(ctx, task);
      const location = ctx.storeFor(task)?.location;
      if (report && location && options.record) {
        const run = { newestConfirmed: report.newestConfirmed, at: ctx.clock.now(), failure: report.failure };
        // The status page's record only: a database that does not take it must not fail the copy run.
        await options
          .record(location, run)
          .catch((error: unknown) =>
            ctx.logger.warn(
              `Could not record the off-site copy run for the status: ${error instanceof Error ? error.message : String(error)}`,
            ),
          );
      }
      return report;
    },
    fetchForRestore: (task, request) => fetchForRestore(ctx, task, request),
    catalog: async (task) => {
      const store = ctx.storeFor(task);
      return store
        ? {
            location: store.location,
            catalog: await readOffsiteCatalog(store, ctx.format, task.store.trustPolicy()),
          }
        : null;
    },
    location: (task) => ctx.storeFor(task)?.location ?? null,
  };
}

/** With the sidecar, the files live in its volume: uploads and downloads run there; listing and removal stay here. */
function withTransfersWhereTheFilesAre(
  store: OffsiteStore,
  offsite: OffsiteSettings,
  executor: ExecutorSettings,
  directory: string,
): OffsiteStore {
  if (executor.kind !== 'sidecar') return store;
  const sidecar = createSidecarExecutor({ url: executor.url, token: executor.token });
  return {
    location: store.location,
    list: () => store.list(),
    readManifest: (name) => store.readManifest(name),
    remove: (backup) => store.remove(backup),
    upload: (request) => sidecar.offsiteUpload(offsite, { ...request, directory }),
    download: (request) => sidecar.offsiteDownload(offsite, { ...request, directory }),
  };
}
