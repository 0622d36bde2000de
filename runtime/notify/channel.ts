// One [[notify]] table after validation: where to send, what, and how often to remind.
import type { EventKind, Severity } from '../../handlers/ports/notifier';

export type NotifyKind = 'webhook' | 'ntfy' | 'email' | 'slack' | 'discord' | 'teams';

export interface NotifyChannel {
  /** A hash of kind, URL and recipients: the outbox's rows name their channel by it (no secret in the database). */
  id: string;
  kind: NotifyKind;
  /** Secret: may hold a token (chat webhooks) or a password (smtp://). Never logged; see label. */
  url: string;
  /** How logs and `notify-test` name the channel: name or position, kind and host only. */
  label: string;
  /** webhook: the HMAC-SHA256 key; ntfy: the access token. */
  secret: string | null;
  minSeverity: Severity;
  /** null: every kind of event. */
  events: readonly EventKind[] | null;
  reminderMs: number;
  timeoutMs: number;
  email: { from: string; to: readonly string[]; caFile: string | null } | null;
}
