// Both executors behind one factory, so that a backup or restore suite can run against each:
//   describe.each(executorKinds)('backups with the $name executor', (kind) => { ... await kind.start({ dbUrl, directory }) })
import type { Executor } from '../../runtime/executor/executor';
import { createLocalExecutor } from '../../runtime/executor/local';
import { createSidecarExecutor } from '../../runtime/sidecar/client';
import { silentLogger } from '../../runtime/observability/logger';
import { startSidecarProcess } from './sidecar-process';

export interface ExecutorUnderTest {
  executor: Executor;
  /** Ends what start() started (the sidecar process); a no-op for the in-process executor. */
  close(): Promise<void>;
}

export interface ExecutorStartOptions {
  /** The database the executor dumps and restores next to (the sidecar holds these credentials). */
  dbUrl: string;
  /** The backup directory; the sidecar serves only this one. */
  directory: string;
  /** Where the tools are (default: the executor's own search). */
  toolDirectory?: string;
}

export interface ExecutorKind {
  name: 'local' | 'sidecar';
  start(options: ExecutorStartOptions): Promise<ExecutorUnderTest>;
}

export const localExecutorKind: ExecutorKind = {
  name: 'local',
  async start({ dbUrl, toolDirectory }) {
    return {
      executor: createLocalExecutor({ dbUrl, logger: silentLogger(), toolDirectory }),
      close: async () => {},
    };
  },
};

/** bin/bomnipotent_executor.js as its own process on a free loopback port, reached through the sidecar client. */
export const sidecarExecutorKind: ExecutorKind = {
  name: 'sidecar',
  async start({ dbUrl, directory, toolDirectory }) {
    const sidecar = await startSidecarProcess({
      dbUrl,
      directory,
      ...(toolDirectory ? { toolDirectory } : {}),
    });
    return {
      executor: createSidecarExecutor({ url: sidecar.url, token: sidecar.token }),
      close: async () => {
        await sidecar.stop();
      },
    };
  },
};

export const executorKinds: readonly ExecutorKind[] = [localExecutorKind, sidecarExecutorKind];
