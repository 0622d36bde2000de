// The body each HTTP channel posts: our JSON schema, ntfy's text with headers, and the chat services' documented shapes.
import { createHmac } from 'node:crypto';
import type { Severity } from '../../../handlers/ports/notifier';
import type { NotifyChannel } from '../channel';
import { bodyLines, titleOf, type NotifyMessage } from '../message';

export interface HttpRequest {
  body: string;
  headers: Record<string, string>;
}

export const SIGNATURE_HEADER = 'x-bomnipotent-signature';
export const EVENT_ID_HEADER = 'x-bomnipotent-event-id';

const JSON_TYPE = { 'content-type': 'application/json' };

/** ntfy's priorities: 5 urgent, 4 high, 3 default. */
const NTFY_PRIORITY: Record<Severity, string> = { critical: '5', warning: '4', info: '3' };

export function requestFor(channel: NotifyChannel, message: NotifyMessage): HttpRequest {
  const title = titleOf(message);
  const text = bodyLines(message).join('\n');
  switch (channel.kind) {
    case 'webhook': {
      const body = JSON.stringify(message);
      const headers: Record<string, string> = { ...JSON_TYPE, [EVENT_ID_HEADER]: message.id };
      if (channel.secret !== null) {
        headers[SIGNATURE_HEADER] =
          `sha256=${createHmac('sha256', channel.secret).update(body).digest('hex')}`;
      }
      return { body, headers };
    }
    case 'ntfy': {
      const headers: Record<string, string> = {
        'content-type': 'text/plain; charset=utf-8',
        // HTTP headers are Latin-1: ntfy reads RFC 2047 encoded words for anything else.
        title: `=?UTF-8?B?${Buffer.from(title).toString('base64')}?=`,
        priority: NTFY_PRIORITY[message.severity],
        tags:
          message.state === 'recovered'
            ? 'white_check_mark'
            : message.severity === 'info'
              ? 'information_source'
              : 'warning',
      };
      if (channel.secret !== null) headers.authorization = `Bearer ${channel.secret}`;
      return { body: text, headers };
    }
    case 'slack':
      // https://api.slack.com/messaging/webhooks: "text" is required, mrkdwn by default.
      return {
        body: JSON.stringify({ text: `*${escapeSlack(title)}*\n${escapeSlack(text)}` }),
        headers: JSON_TYPE,
      };
    case 'discord':
      // https://discord.com/developers/docs/resources/webhook: content up to 2000 characters; no pings.
      return {
        body: JSON.stringify({
          content: `**${title}**\n${text}`.slice(0, 2000),
          allowed_mentions: { parse: [] },
        }),
        headers: JSON_TYPE,
      };
    case 'teams':
      // Incoming webhooks (Workflows): a message with one Adaptive Card attachment.
      return {
        body: JSON.stringify({
          type: 'message',
          attachments: [
            {
              contentType: 'application/vnd.microsoft.card.adaptive',
              contentUrl: null,
              content: {
                $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
                type: 'AdaptiveCard',
                version: '1.4',
                body: [
                  { type: 'TextBlock', text: title, weight: 'Bolder', size: 'Medium', wrap: true },
                  ...bodyLines(message).map((line) => ({ type: 'TextBlock', text: line, wrap: true })),
                ],
              },
            },
          ],
        }),
        headers: JSON_TYPE,
      };
    case 'email':
      throw new Error('unreachable: e-mail is not sent over HTTP');
  }
}

function escapeSlack(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
