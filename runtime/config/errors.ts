// ConfigError: the one error type of config loading; its message names the file, the key and the fix.
import { maskSecrets } from '../observability/mask';

export class ConfigError extends Error {
  readonly code = 'CONFIG.INVALID';

  constructor(message: string, options?: { cause?: unknown }) {
    // Masked once more here as a last defence: no secret may reach a log line through a config error.
    super(maskSecrets(message), options);
    this.name = 'ConfigError';
  }
}
