// One delivery attempt to one channel, bounded by the channel's timeout; throws a line that names no secret.
import { readFileSync } from 'node:fs';
import nodemailer from 'nodemailer';
import type { NotifyChannel } from './channel';
import { requestFor } from './channels/payloads';
import { bodyLines, titleOf, type NotifyMessage } from './message';
import { formatDuration } from '../../handlers/units';

export type Send = (channel: NotifyChannel, message: NotifyMessage) => Promise<void>;

export const send: Send = (channel, message) =>
  channel.kind === 'email' ? sendEmail(channel, message) : sendHttp(channel, message);

async function sendHttp(channel: NotifyChannel, message: NotifyMessage): Promise<void> {
  const { body, headers } = requestFor(channel, message);
  const host = new URL(channel.url).host;
  let response: Response;
  try {
    response = await fetch(channel.url, {
      method: 'POST',
      body,
      headers,
      redirect: 'error',
      signal: AbortSignal.timeout(channel.timeoutMs),
    });
  } catch (error) {
    throw new Error(describeFetchError(error, host, channel.timeoutMs));
  }
  // The answer's body is not read into any message: it may echo the request or hold anything.
  await response.body?.cancel().catch(() => {});
  if (!response.ok) throw new Error(`${host} answered HTTP ${response.status}`);
}

function describeFetchError(error: unknown, host: string, timeoutMs: number): string {
  const name = error instanceof Error ? error.name : '';
  if (name === 'TimeoutError' || name === 'AbortError')
    return `${host} did not answer within ${formatDuration(timeoutMs)}`;
  const cause =
    error instanceof Error ? (error.cause as { code?: string; message?: string } | undefined) : undefined;
  return `could not reach ${host} (${cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error))})`;
}

async function sendEmail(channel: NotifyChannel, message: NotifyMessage): Promise<void> {
  const email = channel.email!;
  const url = new URL(channel.url);
  const implicitTls = url.protocol === 'smtps:';
  const transport = nodemailer.createTransport({
    host: url.hostname,
    port: url.port === '' ? (implicitTls ? 465 : 587) : Number(url.port),
    secure: implicitTls,
    requireTLS: !implicitTls, // smtp:// means STARTTLS, never the password in the clear
    auth:
      url.username === ''
        ? undefined
        : { user: decodeURIComponent(url.username), pass: decodeURIComponent(url.password) },
    tls: email.caFile === null ? undefined : { ca: readFileSync(email.caFile) },
    connectionTimeout: channel.timeoutMs,
    greetingTimeout: channel.timeoutMs,
    socketTimeout: channel.timeoutMs,
  });
  try {
    await transport.sendMail({
      from: email.from,
      to: [...email.to],
      subject: titleOf(message),
      text: bodyLines(message).join('\n'),
      headers: { 'X-Bomnipotent-Event-Id': message.id },
    });
  } catch (error) {
    throw new Error(`${url.host}: ${describeSmtpError(error)}`);
  } finally {
    transport.close();
  }
}

function describeSmtpError(error: unknown): string {
  const e = error as { code?: string; responseCode?: number; message?: string };
  if (e.code === 'EAUTH')
    return `the SMTP server refused the login (${e.responseCode ?? 'no code'}): check the user and password`;
  if (e.code === 'ETIMEDOUT') return 'no answer in time';
  if (e.code === 'ECONNECTION' || e.code === 'ESOCKET') return `could not connect (${firstLine(e.message)})`;
  return `${e.code ?? 'error'}: ${firstLine(e.message)}`;
}

function firstLine(text: string | undefined): string {
  return (text ?? 'unknown').split('\n')[0]!.slice(0, 200);
}
