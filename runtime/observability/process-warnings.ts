// Warnings that libraries emit through process.emitWarning (the AWS SDK's notice about the Node version, a
// deprecation) reach the log once each, as one line in our format, instead of Node's multi-line "(node:PID)" dump.
import type { Logger } from '../../handlers/ports/logger';

/** Replaces Node's own printing of process warnings with one log line per distinct warning. */
export function logProcessWarnings(logger: Logger): void {
  const seen = new Set<string>();
  process.removeAllListeners('warning');
  process.on('warning', (warning: Error) => {
    const named = warning.name === 'Warning' ? warning.message : `${warning.name}: ${warning.message}`;
    const text = named.replace(/\s+/g, ' ').trim();
    if (seen.has(text)) return;
    seen.add(text);
    logger.warn(text);
  });
}
