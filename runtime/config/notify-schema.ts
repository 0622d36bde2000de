// The [[notify]] tables: where the server sends what goes wrong with the backups (runtime/notify/ sends it).
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { EVENT_KINDS, SEVERITIES } from '../../handlers/ports/notifier';
import type { NotifyChannel, NotifyKind } from '../notify/channel';
import { duration } from './duration-key';

export const NOTIFY_KINDS = ['webhook', 'ntfy', 'email', 'slack', 'discord', 'teams'] as const;

export const notifySchema = z.strictObject({
  url: z.string().min(1),
  kind: z.enum(NOTIFY_KINDS).optional(),
  name: z.string().min(1).max(80).optional(),
  secret: z.string().min(8).optional(),
  min_severity: z.enum(SEVERITIES).default('warning'),
  events: z.array(z.enum(EVENT_KINDS)).optional(),
  reminder: duration('1 day'),
  timeout: duration('10 s'),
  from: z
    .string()
    .regex(/^[^@\s]+@[^@\s]+$/, { error: 'must be an email address' })
    .optional(),
  to: z
    .array(z.string().regex(/^[^@\s]+@[^@\s]+$/, { error: 'must be an email address' }))
    .min(1)
    .optional(),
  ca_file: z.string().min(1).optional(),
});

export const NOTIFY_KEYS = Object.keys(notifySchema.shape);

export type NotifyInput = z.output<typeof notifySchema>;

/** The channel a URL means when `kind` is not set. */
export function inferKind(url: URL): NotifyKind {
  if (url.protocol === 'smtp:' || url.protocol === 'smtps:') return 'email';
  if (url.hostname === 'hooks.slack.com') return 'slack';
  if (/(^|\.)discord(app)?\.com$/.test(url.hostname) && url.pathname.startsWith('/api/webhooks/'))
    return 'discord';
  if (/\.webhook\.office\.com$|\.logic\.azure\.com$|\.powerplatform\.com$/.test(url.hostname)) return 'teams';
  if (url.hostname === 'ntfy.sh') return 'ntfy';
  return 'webhook';
}

/** What is wrong with one table, in sentences that never repeat the URL (it may hold a token or a password). */
export function findNotifyProblems(entry: NotifyInput): string[] {
  let url: URL;
  try {
    url = new URL(entry.url);
  } catch {
    return [
      'url is not a valid URL: write it like "https://host/path" (or "smtp://user:${SMTP_PASSWORD}@host:587")',
    ];
  }
  const kind = entry.kind ?? inferKind(url);
  const problems: string[] = [];
  const email = kind === 'email';
  if (email && url.protocol !== 'smtp:' && url.protocol !== 'smtps:') {
    problems.push('url must start with smtp:// (STARTTLS) or smtps:// (TLS) for kind = "email"');
  }
  if (!email && url.protocol !== 'https:' && url.protocol !== 'http:') {
    problems.push(`url must be an http:// or https:// URL for kind = "${kind}"`);
  }
  if (url.hostname === '') problems.push('url has no host');
  if (email) {
    if (entry.to === undefined) problems.push('to is required for e-mail: the list of addresses to write to');
    if (entry.from === undefined) problems.push('from is required for e-mail: the sender address');
    if (url.username !== '' && url.password === '') {
      problems.push('url names an SMTP user without a password: write smtp://user:${SMTP_PASSWORD}@host:587');
    }
  } else {
    for (const key of ['to', 'from', 'ca_file'] as const) {
      if (entry[key] !== undefined)
        problems.push(`${key} is only used with e-mail (smtp:// or smtps://): remove it`);
    }
  }
  if (entry.secret !== undefined && kind !== 'webhook' && kind !== 'ntfy') {
    problems.push(`secret is only used by kind = "webhook" (signature) and "ntfy" (access token): remove it`);
  }
  return problems;
}

/** Called only on a table that passed findNotifyProblems. */
export function toNotifyChannel(
  entry: NotifyInput,
  index: number,
  at: (path: string) => string,
): NotifyChannel {
  const url = new URL(entry.url);
  const kind = entry.kind ?? inferKind(url);
  // Stable across reloads and replicas, and no secret in it: messages waiting in the outbox find their channel again.
  const id = createHash('sha256')
    .update([kind, entry.url, ...(entry.to ?? [])].join('\n'))
    .digest('hex')
    .slice(0, 16);
  return {
    id,
    kind,
    url: entry.url,
    label: `[[notify]] ${entry.name ?? `#${index + 1}`} (${kind}, ${url.host})`,
    secret: entry.secret ?? null,
    minSeverity: entry.min_severity,
    events: entry.events ?? null,
    reminderMs: entry.reminder,
    timeoutMs: entry.timeout,
    email:
      kind === 'email'
        ? { from: entry.from!, to: entry.to!, caFile: entry.ca_file === undefined ? null : at(entry.ca_file) }
        : null,
  };
}
