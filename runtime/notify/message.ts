// The message every channel sends, in one documented shape (docs/notifications.md), and its words for people.
import type { EventKind, NotifyEvent, Severity } from '../../handlers/ports/notifier';

export const MESSAGE_VERSION = 1;

/** problem: the first message of a problem; reminder: it still happens; recovered: it is over; event: one-off. */
export type MessageState = 'problem' | 'reminder' | 'recovered' | 'event' | 'test';

export interface NotifyMessage {
  version: typeof MESSAGE_VERSION;
  /** Unique per message: a receiver that sees an id twice (a retry after a lost answer) drops the second. */
  id: string;
  event: EventKind | 'test';
  state: MessageState;
  severity: Severity;
  /** The server's `domain`, null when not configured. */
  server: string | null;
  database: string | null;
  backup: string | null;
  reason: string;
  suggestion: string | null;
  user: string | null;
  /** When it happened (ISO 8601). */
  at: string;
}

export function toMessage(
  event: NotifyEvent | (Omit<NotifyEvent, 'kind'> & { kind: 'test' }),
  state: MessageState,
  context: { id: string; server: string | null; at: Date },
): NotifyMessage {
  return {
    version: MESSAGE_VERSION,
    id: context.id,
    event: event.kind,
    state,
    severity: state === 'recovered' ? 'info' : event.severity,
    server: context.server,
    database: event.database,
    backup: event.backup,
    reason: event.reason,
    suggestion: event.suggestion,
    user: event.user ?? null,
    at: context.at.toISOString(),
  };
}

const TITLES: Record<NotifyMessage['event'], string> = {
  backup_failed: 'Backup failed',
  disk_space: 'Not enough disk space for a backup',
  backup_stale: 'No recent good backup',
  rehearsal_failed: 'Restore rehearsal failed',
  offsite_failed: 'Off-site copy failed',
  offsite_stale: 'Off-site copies are stale',
  chain_broken: 'Backup chain broken',
  verify_failed: 'A backup does not verify',
  startup_unusable: 'Backups cannot run',
  restore_started: 'Restore started',
  restore_succeeded: 'Restore succeeded',
  restore_failed: 'Restore failed',
  pitr_slot_released: 'Replication slot dropped: it held back too much WAL',
  test: 'Test message',
};

/** One line: "[critical] Backup failed: bom.example.com/bomnipotent". */
export function titleOf(message: NotifyMessage): string {
  const what = TITLES[message.event];
  const head =
    message.state === 'recovered'
      ? `Recovered: ${what}`
      : message.state === 'reminder'
        ? `Still: ${what}`
        : what;
  const where = [message.server, message.database].filter((part) => part !== null).join('/');
  return `[${message.severity}] ${head}${where === '' ? '' : `: ${where}`}`;
}

/** The lines below the title: reason, suggestion, then the facts. */
export function bodyLines(message: NotifyMessage): string[] {
  const lines = [message.reason];
  if (message.suggestion) lines.push(`What to do: ${message.suggestion}`);
  if (message.backup) lines.push(`Backup: ${message.backup}`);
  if (message.user) lines.push(`Asked by: ${message.user}`);
  lines.push(`At: ${message.at} (message ${message.id})`);
  return lines;
}

const ORDER: Record<Severity, number> = { info: 0, warning: 1, critical: 2 };

export function atLeast(severity: Severity, minimum: Severity): boolean {
  return ORDER[severity] >= ORDER[minimum];
}
