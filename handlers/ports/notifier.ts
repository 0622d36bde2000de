// What the use cases tell the admin about (runtime/notify/ sends it to the [[notify]] channels): problems that open
// and close, and one-off events. Never throws and never waits for delivery: a notification cannot fail a backup.

export type Severity = 'info' | 'warning' | 'critical';

export const SEVERITIES: readonly Severity[] = ['info', 'warning', 'critical'];

/** Every kind of event, as a [[notify]] table's `events` filter names them. */
export const EVENT_KINDS = [
  'backup_failed',
  'disk_space',
  'backup_stale',
  'rehearsal_failed',
  'offsite_failed',
  'offsite_stale',
  'chain_broken',
  'verify_failed',
  'startup_unusable',
  'restore_started',
  'restore_succeeded',
  'restore_failed',
  'pitr_slot_released',
] as const;

export type EventKind = (typeof EVENT_KINDS)[number];

export interface NotifyEvent {
  kind: EventKind;
  severity: Severity;
  database: string | null;
  backup: string | null;
  /** One line: what happened. */
  reason: string;
  /** What to do about it, as our errors suggest; null when there is nothing to suggest. */
  suggestion: string | null;
  /** Who asked (restores, manual backups); null for the scheduler. */
  user?: string | null;
}

export interface Notifier {
  /**
   * A problem (keyed, e.g. "backup_failed:bomnipotent") happened again: the first time one message, then a reminder
   * once per channel's reminder interval while it keeps happening.
   */
  problem(key: string, event: NotifyEvent): void;
  /** The problem is over: a "recovered" message to every channel that was told of it; nothing when none was. */
  resolved(key: string, event: NotifyEvent): void;
  /** A one-off event (a restore started, for example): sent every time. */
  event(event: NotifyEvent): void;
  /** The outside monitor's push (the task's heartbeat_url): a run started, ended well, or failed with a reason. */
  heartbeat(state: 'start' | 'success' | 'fail', reason: string | null): void;
  /**
   * Resolves once every message handed over so far is in the outbox (or its queueing failed and was logged); never
   * rejects. A restore waits for it before refusing writes: "restore started" must not race the swap.
   */
  queued?(): Promise<void>;
}

export const NO_NOTIFIER: Notifier = { problem() {}, resolved() {}, event() {}, heartbeat() {} };

/** The event of a problem that is over (a "recovered" message says `reason`). */
export function recoveredEvent(kind: EventKind, database: string | null, reason: string): NotifyEvent {
  return { kind, severity: 'info', database, backup: null, reason, suggestion: null };
}
