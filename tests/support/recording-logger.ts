// A Logger that keeps its lines for the test to read: `[LEVEL] message` (or the bare message), up to a level.
import type { LogLevel, Logger } from '../../handlers/ports/logger';

const LEVELS: readonly LogLevel[] = ['error', 'warn', 'info', 'debug', 'trace'];

export function recordingLogger(
  options: { upTo?: LogLevel; bare?: boolean; lines?: string[] } = {},
): Logger & { lines: string[] } {
  const lines = options.lines ?? [];
  const upTo = LEVELS.indexOf(options.upTo ?? 'trace');
  const at = (level: LogLevel) => (message: string) => {
    if (LEVELS.indexOf(level) > upTo) return;
    lines.push(options.bare ? message : `[${level.toUpperCase()}] ${message}`);
  };
  return {
    lines,
    error: at('error'),
    warn: at('warn'),
    info: at('info'),
    debug: at('debug'),
    trace: at('trace'),
  };
}

/** The database lifecycle of a test world that has no pool to drain: every step a no-op. */
export function idleLifecycle(knownSchemaVersion: number) {
  return {
    drainPool: async () => {},
    reopenPool: async () => {},
    migrate: async () => knownSchemaVersion,
    knownSchemaVersion,
    carryOverFrom: async () => 0,
    carrySignaturesAhead: async () => 0,
    adminsThroughRestore: async () => ({ before: [], after: [] }),
  };
}
