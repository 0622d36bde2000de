// Hot reload: watch the config file's directory, reload on change, keep the last valid Config when the new file is broken.
import { watch } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import type { Logger } from '../../handlers/ports/logger';
import type { Env } from './env';
import { deepFreeze } from './freeze';
import { parseConfig, readConfigSources, type ConfigSources } from './load';
import type { Config } from './types';

export interface WatchConfigOptions {
  env: Env;
  logger: Logger;
  onReload: (next: Config, previous: Config) => void;
  /**
   * Checks a parsed config against the world before it takes effect (e.g. that tmp_admin names an existing user);
   * a rejection is reported like a broken file and the previous configuration stays in force.
   */
  accept?: (next: Config) => Promise<void>;
  /** The Config in force now; loaded from the file when absent. */
  current?: Config;
  debounceMs?: number;
}

export function watchConfig(path: string, options: WatchConfigOptions): { close(): void } {
  const { env, logger, onReload } = options;
  const file = resolve(path);
  const name = basename(file);
  let lastSeen: ConfigSources | undefined = readConfigSources(file);
  let current = options.current ?? parseConfig(lastSeen, env);
  let timer: NodeJS.Timeout | undefined;
  let closed = false;

  const fail = (error: unknown) => {
    const message = (error instanceof Error ? error.message : String(error)).replace(/\.$/, '');
    logger.error(
      `Failed to reload configuration from "${file}": ${message}. The previous configuration stays in force.`,
    );
  };

  // One reload at a time, in order: an accept() still running must not be overtaken by a later edit.
  let queue: Promise<void> = Promise.resolve();
  const scheduleReload = () => {
    timer = undefined;
    queue = queue.then(reload, reload);
  };

  const reload = async () => {
    if (closed) return;
    let sources: ConfigSources;
    try {
      sources = readConfigSources(file);
    } catch (error) {
      lastSeen = undefined; // whatever comes back next is news, even the old content
      return fail(error);
    }
    if (lastSeen && sources.text === lastSeen.text && sources.dotenvText === lastSeen.dotenvText) return;
    lastSeen = sources;
    let next: Config;
    try {
      next = keepDbUrl(parseConfig(sources, env), current, logger);
    } catch (error) {
      return fail(error);
    }
    if (options.accept) {
      try {
        await options.accept(next);
      } catch (error) {
        lastSeen = undefined; // saving the same file again retries, e.g. once the named user exists
        return fail(error);
      }
    }
    const previous = current;
    current = next;
    logger.info(`Configuration successfully reloaded from "${file}"`);
    try {
      onReload(next, previous);
    } catch (error) {
      logger.error(
        `Applying the reloaded configuration failed: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  };

  const watcher = watch(dirname(file), { persistent: false }, (_event, changed) => {
    const changedName = changed === null ? null : String(changed);
    // null: the platform did not say which file; "..data": Kubernetes swaps a ConfigMap's files through that symlink.
    if (
      changedName !== null &&
      changedName !== name &&
      changedName !== '.env' &&
      !changedName.startsWith('..')
    )
      return;
    clearTimeout(timer);
    timer = setTimeout(scheduleReload, options.debounceMs ?? 100);
  });
  watcher.on('error', (error) =>
    logger.error(`Stopped watching "${dirname(file)}" for configuration changes: ${error.message}`),
  );

  return {
    close() {
      closed = true;
      clearTimeout(timer);
      watcher.close();
    },
  };
}

/** db_url has no hot reload: the pool and the restore logic hold on to the database they started with. */
function keepDbUrl(next: Config, current: Config, logger: Logger): Config {
  if (next.dbUrl === current.dbUrl) return next;
  logger.warn(
    `db_url changed in "${next.path}", but a new database is only used after a restart; ` +
      'the server keeps the current one until then.',
  );
  return deepFreeze({ ...next, dbUrl: current.dbUrl });
}
