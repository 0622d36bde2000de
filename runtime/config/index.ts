// The server's configuration: resolve the path, load and validate config.toml, describe it, and reload it on change.
export type { Config, TaskSettings } from './types';
export { ConfigError } from './errors';
export { resolveConfigPath, DEFAULT_CONFIG_PATH } from './resolve-path';
export { loadConfig, parseConfig, readConfigSources, type ConfigSources } from './load';
export { describeConfig } from './describe';
export { watchConfig, type WatchConfigOptions } from './watch';
export { parseDurationMs, formatDuration } from './duration';
export { dbWaitTimeoutMs } from './server-env';
