// Hot reload of config.toml for the Node server: watch the file, check the new config, apply what can change live.
import { rehearseNewestOnTurnOn } from '../../handlers/backup/freshness';
import { checkTmpAdmin } from '../auth/module';
import { watchConfig, type Config } from '../config/index';
import type { Server } from '../deps';
import type { ServerLogger } from '../observability/logger';
import type { Scheduler } from './scheduler';

export function watchAndApply(
  path: string,
  env: NodeJS.ProcessEnv,
  o: {
    server: Server;
    logger: ServerLogger;
    current: Config;
    scheduler: Scheduler;
    apply(next: Config): void;
  },
): { close(): void } {
  let previous = o.current;
  return watchConfig(path, {
    env,
    logger: o.logger,
    current: o.current,
    accept: (next) => checkTmpAdmin(next, o.server.db),
    onReload: (next) => {
      const rehearsedBefore = previous.databaseBackup?.rehearse === true;
      previous = next;
      o.apply(next);
      o.logger.setLevel(next.log.level);
      o.logger.setFile(next.log.file);
      o.scheduler.reschedule(next.tasks);
      void o.server.continuous.apply(next.databaseBackup);
      if (!rehearsedBefore && next.databaseBackup?.rehearse) {
        rehearseNewestOnTurnOn(o.server.backups).catch((error: unknown) =>
          o.logger.warn(
            `rehearse is on, but the newest backup could not be queued (${error instanceof Error ? error.message : String(error)}): ` +
              'run `bomnipotent_client database-backup rehearse` to rehearse it now.',
          ),
        );
      }
    },
  });
}
