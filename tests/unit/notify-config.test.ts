// [[notify]] tables through the real loader: kinds from the URL, defaults, clear one-line errors, secrets masked.
import { describe, expect, it } from 'vitest';
import { thrown } from '../support/rejection';
import { ConfigError } from '../../runtime/config';
import { maskSecrets } from '../../runtime/observability/mask';
import { channelsOf } from '../support/notify-receivers';

function problem(toml: string, env: Record<string, string> = {}): string {
  return thrown(() => channelsOf(toml, env), ConfigError).message;
}

describe('[[notify]]', () => {
  it('picks the channel from the URL unless kind says otherwise, with the documented defaults', () => {
    const channels = channelsOf(
      [
        'https://hooks.slack.com/services/T0/B0/abc',
        'https://discord.com/api/webhooks/1/abc',
        'https://prod-01.westeurope.logic.azure.com/workflows/abc',
        'https://ntfy.sh/my-backups',
        'https://example.com/hook',
      ]
        .map((url) => `[[notify]]\nurl = "${url}"\n`)
        .join('') + '[[notify]]\nurl = "https://push.example.com/t"\nkind = "ntfy"\n',
    );
    expect(channels.map((c) => c.kind)).toEqual(['slack', 'discord', 'teams', 'ntfy', 'webhook', 'ntfy']);
    expect(channels[4]).toMatchObject({
      minSeverity: 'warning',
      events: null,
      reminderMs: 24 * 3600_000,
      timeoutMs: 10_000,
      secret: null,
      email: null,
      label: '[[notify]] #5 (webhook, example.com)',
    });
    // The id names no secret and is the same for the same table (messages waiting in the outbox find it again).
    expect(channelsOf('[[notify]]\nurl = "https://example.com/hook"\n')[0]!.id).toBe(channels[4]!.id);
  });

  it('reads e-mail from smtp:// with from and to, the password from ${ENV}, masked in every later line', () => {
    const [channel] = channelsOf(
      '[[notify]]\nname = "ops mail"\nurl = "smtp://backup:${SMTP_PASSWORD}@mail.example.com:587"\n' +
        'from = "server@example.com"\nto = ["ops@example.com"]\n',
      { SMTP_PASSWORD: 'p4ss-w0rd-sec' },
    );
    expect(channel).toMatchObject({
      kind: 'email',
      label: '[[notify]] ops mail (email, mail.example.com:587)',
    });
    expect(channel!.email).toEqual({ from: 'server@example.com', to: ['ops@example.com'], caFile: null });
    expect(maskSecrets('login with p4ss-w0rd-sec failed')).toBe('login with *** failed');
  });

  it('masks a chat webhook URL path (its token) and the webhook secret', () => {
    channelsOf('[[notify]]\nurl = "https://example.org/hooks/T0KEN-xyz"\nsecret = "hmac-key-abcdef"\n');
    expect(maskSecrets('posting to /hooks/T0KEN-xyz with hmac-key-abcdef')).toBe('posting to *** with ***');
  });

  it.each([
    ['url = "not a url"', 'notify[0].url is not a valid URL'],
    ['url = "ftp://example.com/x"', 'notify[0].url must be an http:// or https:// URL for kind = "webhook"'],
    [
      'url = "https://example.com/x"\nkind = "email"',
      'notify[0].url must start with smtp:// (STARTTLS) or smtps://',
    ],
    ['url = "smtp://mail.example.com"\nfrom = "a@b.c"', 'notify[0].to is required for e-mail'],
    [
      'url = "https://hooks.slack.com/services/x"\nsecret = "abcdefgh"',
      'notify[0].secret is only used by kind = "webhook"',
    ],
    ['url = "https://example.com/x"\nto = ["a@b.c"]', 'notify[0].to is only used with e-mail'],
    [
      'url = "https://example.com/x"\nmin_severity = "high"',
      'notify[0].min_severity must be one of "info", "warning", "critical"',
    ],
    [
      'url = "https://example.com/x"\nevents = ["backup_fail"]',
      'notify[0].events[0] must be one of "backup_failed"',
    ],
    ['url = "https://example.com/x"\nreminder = "often"', 'notify[0].reminder'],
    [
      'url = "https://example.com/x"\nurls = 1',
      'unknown key "notify[0].urls" (did you mean "url"?); [[notify]] accepts: url, kind',
    ],
    ['kind = "ntfy"', 'notify[0].url is required'],
  ])('refuses %j with one clear line', (table, expected) => {
    expect(problem(`[[notify]]\n${table}\n`)).toContain(expected);
  });

  it('never repeats a malformed URL in the error (it may hold a password)', () => {
    const message = problem('[[notify]]\nurl = "smtp://u:${PW}@bad host"\n', { PW: 'hunter2-secret' });
    expect(message).toContain('notify[0].url is not a valid URL');
    expect(message).not.toContain('hunter2-secret');
  });

  it('refuses [notify] as a single table', () => {
    expect(problem('[notify]\nurl = "https://example.com"\n')).toContain(
      'notify must be a list of [[notify]] tables',
    );
  });
});
