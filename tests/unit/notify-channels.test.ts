// Each channel against a real local receiver: our webhook (schema, event id, HMAC), ntfy, Slack, Discord and Teams
// payload shapes, e-mail over a real SMTP server with STARTTLS and a login; and the faults: 500, late, unreachable,
// a wrong SMTP password. Channels come from a real config file through the loader. And the heartbeat's two styles.
import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { send } from '../../runtime/notify/send';
import { pingHeartbeat } from '../../runtime/notify/heartbeat';
import { toMessage, type NotifyMessage } from '../../runtime/notify/message';
import {
  channelsOf,
  startHttpReceiver,
  startSmtpReceiver,
  type HttpReceiver,
  type SmtpReceiver,
} from '../support/notify-receivers';

const SECRET = 'webhook-secret-123';
const SMTP_PASSWORD = 'smtp-pass-7f3a';

const message: NotifyMessage = toMessage(
  {
    kind: 'backup_failed',
    severity: 'critical',
    database: 'bomnipotent',
    backup: null,
    reason: 'The backup failed: pg_dump exited with 1.',
    suggestion: 'Check that the database is reachable.',
  },
  'problem',
  {
    id: '5b0f4f9e-1a2b-4c3d-8e9f-000000000001',
    server: 'bom.example.com',
    at: new Date('2026-12-07T04:00:00Z'),
  },
);

let http: HttpReceiver;
let smtp: SmtpReceiver;
beforeAll(async () => {
  http = await startHttpReceiver();
  smtp = await startSmtpReceiver('backup', SMTP_PASSWORD);
});
afterAll(async () => {
  await http.close();
  await smtp.close();
});

const last = () => http.received.at(-1)!;

describe('HTTP channels send their documented shapes', () => {
  it('webhook: our JSON schema with a version, the event id header and an HMAC-SHA256 signature over the body', async () => {
    const [channel] = channelsOf(`[[notify]]\nurl = "${http.url}/hook"\nsecret = "\${HOOK_SECRET}"\n`, {
      HOOK_SECRET: SECRET,
    });
    await send(channel!, message);
    const got = last();
    expect(got.path).toBe('/hook');
    expect(JSON.parse(got.body)).toEqual(message);
    expect(JSON.parse(got.body).version).toBe(1);
    expect(got.headers['x-bomnipotent-event-id']).toBe(message.id);
    const expected = `sha256=${createHmac('sha256', SECRET).update(got.body).digest('hex')}`;
    expect(got.headers['x-bomnipotent-signature']).toBe(expected);
  });

  it('ntfy: the text as the body, the title (RFC 2047) and the priority by severity as headers', async () => {
    const [channel] = channelsOf(
      `[[notify]]\nurl = "${http.url}/backups"\nkind = "ntfy"\nsecret = "tk_abcdefgh"\n`,
    );
    await send(channel!, message);
    const got = last();
    expect(got.headers.priority).toBe('5');
    expect(got.headers.authorization).toBe('Bearer tk_abcdefgh');
    const title = /^=\?UTF-8\?B\?(.+)\?=$/.exec(String(got.headers.title))![1]!;
    expect(Buffer.from(title, 'base64').toString()).toBe(
      '[critical] Backup failed: bom.example.com/bomnipotent',
    );
    expect(got.body).toContain('pg_dump exited with 1');
    await send(channel!, { ...message, severity: 'warning' });
    expect(last().headers.priority).toBe('4');
  });

  it('slack: {"text"} as an incoming webhook takes it', async () => {
    const [channel] = channelsOf(`[[notify]]\nurl = "${http.url}/services/T0/B0/x"\nkind = "slack"\n`);
    await send(channel!, message);
    const body = JSON.parse(last().body) as Record<string, unknown>;
    expect(Object.keys(body)).toEqual(['text']);
    expect(body.text).toMatch(/^\*\[critical\] Backup failed: bom\.example\.com\/bomnipotent\*\n/);
  });

  it('discord: {"content"} of at most 2000 characters, mentions off', async () => {
    const [channel] = channelsOf(`[[notify]]\nurl = "${http.url}/api/webhooks/1/x"\nkind = "discord"\n`);
    await send(channel!, { ...message, reason: 'x'.repeat(5000) });
    const body = JSON.parse(last().body) as { content: string; allowed_mentions: unknown };
    expect(body.content.length).toBeLessThanOrEqual(2000);
    expect(body.content.startsWith('**[critical] Backup failed')).toBe(true);
    expect(body.allowed_mentions).toEqual({ parse: [] });
  });

  it('teams: a message with one Adaptive Card attachment', async () => {
    const [channel] = channelsOf(`[[notify]]\nurl = "${http.url}/workflows/x"\nkind = "teams"\n`);
    await send(channel!, message);
    const body = JSON.parse(last().body) as {
      type: string;
      attachments: {
        contentType: string;
        content: { type: string; version: string; body: { text: string }[] };
      }[];
    };
    expect(body.type).toBe('message');
    expect(body.attachments).toHaveLength(1);
    expect(body.attachments[0]!.contentType).toBe('application/vnd.microsoft.card.adaptive');
    expect(body.attachments[0]!.content.type).toBe('AdaptiveCard');
    expect(body.attachments[0]!.content.body[0]!.text).toContain('Backup failed');
  });
});

describe('HTTP faults give one clear line, bounded by the timeout, without the URL', () => {
  it('a 500 names the host and the status', async () => {
    const [channel] = channelsOf(`[[notify]]\nurl = "${http.url}/secret-path"\n`);
    http.answer = { status: 500, delayMs: 0 };
    try {
      await expect(send(channel!, message)).rejects.toThrow(`${new URL(http.url).host} answered HTTP 500`);
    } finally {
      http.answer = { status: 200, delayMs: 0 };
    }
  });

  it('a receiver that answers late is given up after the timeout', async () => {
    const [channel] = channelsOf(`[[notify]]\nurl = "${http.url}/slow"\ntimeout = "1 s"\n`);
    http.answer = { status: 200, delayMs: 30_000 };
    const started = Date.now();
    try {
      await expect(send(channel!, message)).rejects.toThrow(/did not answer within 1\.0 seconds/);
    } finally {
      http.answer = { status: 200, delayMs: 0 };
    }
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('an unreachable receiver says so, and the path (a token in chat webhooks) is not in the line', async () => {
    const gone = await startHttpReceiver();
    const url = `${gone.url}/api/webhooks/1/TOKEN-abcdef`;
    await gone.close();
    const [channel] = channelsOf(`[[notify]]\nurl = "${url}"\nkind = "discord"\n`);
    const error = await send(channel!, message).catch((e: Error) => e);
    expect(String(error)).toMatch(/could not reach 127\.0\.0\.1:\d+ \(ECONNREFUSED\)/);
    expect(String(error)).not.toContain('TOKEN');
  });
});

describe('e-mail over a real SMTP server', () => {
  const emailConfig = (password: string) =>
    channelsOf(
      `[[notify]]\nurl = "smtp://backup:\${SMTP_PASSWORD}@127.0.0.1:${smtp.port}"\n` +
        `from = "server@example.com"\nto = ["admin@example.com", "ops@example.com"]\nca_file = "${smtp.caFile}"\n`,
      { SMTP_PASSWORD: password },
    );

  it('logs in after STARTTLS and delivers the subject and the text to every recipient', async () => {
    const [channel] = emailConfig(SMTP_PASSWORD);
    expect(channel!.kind).toBe('email');
    await send(channel!, message);
    const mail = smtp.mails.at(-1)!;
    expect(smtp.logins).toBeGreaterThanOrEqual(1);
    expect(mail.from).toBe('server@example.com');
    expect(mail.to).toEqual(['admin@example.com', 'ops@example.com']);
    expect(mail.data).toContain('Subject: [critical] Backup failed: bom.example.com/bomnipotent');
    expect(mail.data).toContain('pg_dump exited with 1');
    expect(mail.data).toContain(`X-Bomnipotent-Event-ID: ${message.id}`);
  });

  it('a wrong password is one line that says to check the login and does not show the password', async () => {
    const [channel] = emailConfig('wrong-password-99');
    const error = await send(channel!, message).catch((e: Error) => e);
    expect(String(error)).toMatch(/refused the login \(535\): check the user and password/);
    expect(String(error)).not.toContain('wrong-password-99');
  });

  it('refuses to send the password without TLS when the server offers no STARTTLS', async () => {
    const [channel] = channelsOf(
      `[[notify]]\nurl = "smtp://backup:\${SMTP_PASSWORD}@127.0.0.1:${new URL(http.url).port}"\n` +
        `from = "server@example.com"\nto = ["admin@example.com"]\ntimeout = "2 s"\n`,
      { SMTP_PASSWORD },
    );
    await expect(send(channel!, message)).rejects.toThrow(/^127\.0\.0\.1:\d+: /);
  });
});

describe('the heartbeat against a real local receiver', () => {
  it('healthchecks.io style: /start, the URL, /fail with the reason as the body', async () => {
    const from = http.received.length;
    for (const [state, reason] of [
      ['start', null],
      ['success', null],
      ['fail', 'The backup failed: disk full.'],
    ] as const)
      await pingHeartbeat(`${http.url}/hc/uuid-1/`, state, reason);
    expect(http.received.slice(from).map((r) => [r.path, r.body])).toEqual([
      ['/hc/uuid-1/start', ''],
      ['/hc/uuid-1', ''],
      ['/hc/uuid-1/fail', 'The backup failed: disk full.'],
    ]);
  });

  it('Uptime Kuma push: no start, status=up&msg=OK, status=down with the reason', async () => {
    const from = http.received.length;
    for (const [state, reason] of [
      ['start', null],
      ['success', null],
      ['fail', 'The rehearsal failed.'],
    ] as const)
      await pingHeartbeat(`${http.url}/api/push/tok3n`, state, reason);
    expect(http.received.slice(from).map((r) => r.path)).toEqual([
      '/api/push/tok3n?status=up&msg=OK',
      '/api/push/tok3n?status=down&msg=The+rehearsal+failed.',
    ]);
  });

  it('a monitor that answers 500 is one line naming the host, not the token in the path', async () => {
    http.answer = { status: 500, delayMs: 0 };
    try {
      const error = await pingHeartbeat(`${http.url}/api/push/secret-token`, 'success', null).catch(
        (e: unknown) => e as Error,
      );
      expect(error).toBeInstanceOf(Error);
      expect(error?.message).toBe(`${new URL(http.url).host} answered HTTP 500`);
    } finally {
      http.answer = { status: 200, delayMs: 0 };
    }
  });
});
