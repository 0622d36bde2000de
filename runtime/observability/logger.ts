// The server's logger: `2026-01-11 10:30:24 +00:00 [INFO] message`, to stdout and optionally a file, secrets masked.
import { appendFileSync } from 'node:fs';
import type { Logger, LogLevel } from '../../handlers/ports/logger';
import { maskSecrets } from './mask';

/** One log record is one line: control characters from requests (a path, X-Forwarded-For) cannot forge lines. */
export function escapeControl(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (ch) => {
    if (ch === '\n') return '\\n';
    if (ch === '\r') return '\\r';
    if (ch === '\t') return '\\t';
    return `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`;
  });
}

const ORDER: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3, trace: 4 };

export function formatTimestamp(date: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return (
    `${date.getUTCFullYear()}-${p(date.getUTCMonth() + 1)}-${p(date.getUTCDate())} ` +
    `${p(date.getUTCHours())}:${p(date.getUTCMinutes())}:${p(date.getUTCSeconds())} +00:00`
  );
}

export interface LoggerOptions {
  level: LogLevel;
  file?: string | undefined;
  write?: (line: string) => void;
  now?: () => Date;
}

export interface ServerLogger extends Logger {
  setLevel(level: LogLevel): void;
  setFile(file: string | undefined): void;
}

export function createLogger(options: LoggerOptions): ServerLogger {
  let level = options.level;
  let file = options.file;
  const write = options.write ?? ((line: string) => process.stdout.write(line + '\n'));
  const now = options.now ?? (() => new Date());
  const emit = (at: LogLevel, message: string) => {
    if (ORDER[at] > ORDER[level]) return;
    const line = `${formatTimestamp(now())} [${at.toUpperCase()}] ${escapeControl(maskSecrets(message))}`;
    write(line);
    if (file) {
      try {
        // 0600 when created: the log names users, addresses and paths.
        appendFileSync(file, line + '\n', { mode: 0o600 });
      } catch {
        // A broken log file must not take the server down; stdout still has the line.
      }
    }
  };
  return {
    error: (m) => emit('error', m),
    warn: (m) => emit('warn', m),
    info: (m) => emit('info', m),
    debug: (m) => emit('debug', m),
    trace: (m) => emit('trace', m),
    setLevel: (l) => (level = l),
    setFile: (f) => (file = f),
  };
}

export function silentLogger(): ServerLogger {
  return createLogger({ level: 'error', write: () => {} });
}
