// Typed application errors: a stable string code, a message for humans and a suggestion of what to do.
// Handlers only classify (kind); runtime/app.ts maps the kind to an HTTP status in exactly one place.

export type ErrorKind =
  | 'invalid' // 400: the request is malformed
  | 'unauthenticated' // 401: who you are could not be established
  | 'forbidden' // 403: you are known but lack the permission
  | 'not_found' // 404
  | 'timeout' // 408: the request did not arrive in time
  | 'conflict' // 409: another operation is running, or the state forbids it
  | 'too_large' // 413
  | 'too_many' // 429
  | 'failed' // 500: the operation was attempted and failed (a tool, the disk, the database)
  | 'unavailable' // 503: try again later (maintenance, database down)
  | 'misconfigured'; // 500 with a config hint: the server's configuration does not allow this

export interface AppErrorOptions {
  suggestion?: string;
  details?: Record<string, unknown>;
  cause?: unknown;
  retryAfterSeconds?: number;
}

export class AppError extends Error {
  readonly code: string;
  readonly kind: ErrorKind;
  readonly suggestion: string | undefined;
  readonly details: Record<string, unknown> | undefined;
  readonly retryAfterSeconds: number | undefined;

  constructor(code: string, kind: ErrorKind, message: string, options: AppErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.kind = kind;
    this.suggestion = options.suggestion;
    this.details = options.details;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }
}

export function isAppError(error: unknown): error is AppError {
  return error instanceof AppError;
}

/** The example shown whenever the backup task is missing, so that the fix can be copied. */
export const BACKUP_TASK_EXAMPLE = [
  '[[tasks]]',
  'name = "database_backup"',
  'directory = "/etc/bomnipotent_server/backups/"',
  'period = "1 day"',
].join('\n');

export function backupTaskNotConfigured(): AppError {
  return new AppError(
    'BACKUP.TASK_NOT_CONFIGURED',
    'misconfigured',
    'The database_backup task is not configured, so the server has no backup directory.',
    { suggestion: `Add this section to the server's config.toml:\n${BACKUP_TASK_EXAMPLE}` },
  );
}

/** An error's message as a sentence (ends with a full stop), for log lines and messages built around it. */
export function sentenceOf(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return /[.!?]$/.test(message) ? message : `${message}.`;
}
