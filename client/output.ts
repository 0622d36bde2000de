// The one place the client prints: log lines in normal mode, the status code in code mode, the body in raw mode.
import { appendFileSync, existsSync, readFileSync, statSync } from 'node:fs';
import type { ClientLogLevel, OutputMode } from './options';

const ORDER: Record<ClientLogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3, trace: 4 };
const LOG_LINE = /^(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} [+-]\d{2}:\d{2} )?\[(ERROR|WARN|INFO|DEBUG|TRACE)\] /;

export interface Streams {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

export interface Output {
  readonly mode: OutputMode;
  log(level: ClientLogLevel, message: string): void;
  /** A successful call: the message in normal mode, the code or the body otherwise. */
  result(response: { status: number; text: string }, message: string): void;
  /** Extra lines shown only in normal mode (tables, details). */
  detail(text: string): void;
}

/** Refuses to write into an existing file that does not look like a log (a typo must not clobber a key or a config). */
export function checkLogFile(path: string): void {
  if (!existsSync(path)) return;
  if (!statSync(path).isFile())
    throw new Error(`The log file "${path}" is not a regular file: choose another --log-file.`);
  const head = readFileSync(path, 'utf8').slice(0, 4096);
  const firstLine = head.split('\n', 1)[0] ?? '';
  if (head.length > 0 && !LOG_LINE.test(firstLine)) {
    throw new Error(
      `Refusing to write the log into "${path}": it exists and does not look like a log file. Choose another --log-file.`,
    );
  }
}

function timestamp(date: Date): string {
  return date
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, ' +00:00');
}

export function createOutput(
  mode: OutputMode,
  level: ClientLogLevel,
  logFile: string | undefined,
  streams: Streams = { stdout: (t) => process.stdout.write(t), stderr: (t) => process.stderr.write(t) },
): Output {
  if (logFile) checkLogFile(logFile);
  const log = (at: ClientLogLevel, message: string) => {
    if (ORDER[at] > ORDER[level]) return;
    const line = `[${at.toUpperCase()}] ${message}`;
    if (logFile) {
      appendFileSync(logFile, `${timestamp(new Date())} ${line}\n`);
      return;
    }
    if (mode === 'normal') {
      (at === 'error' || at === 'warn' ? streams.stderr : streams.stdout)(line + '\n');
    } else if (at === 'error' || at === 'warn') {
      streams.stderr(line + '\n'); // code and raw keep stdout for the answer alone
    }
  };
  return {
    mode,
    log,
    result(response, message) {
      if (mode === 'code') streams.stdout(String(response.status));
      else if (mode === 'raw') streams.stdout(response.text);
      else log('info', message);
    },
    detail(text) {
      if (mode === 'normal') streams.stdout(text.endsWith('\n') ? text : text + '\n');
    },
  };
}
