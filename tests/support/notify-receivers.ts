// Real local receivers for the notification tests: an HTTP server that records what it is sent (and can answer 500
// or late), and an SMTP server (the smtp-server package) with STARTTLS and a login, with a self-signed certificate.
import { createServer, type IncomingHttpHeaders } from 'node:http';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SMTPServer } from 'smtp-server';
import { selfSignedCertificate } from './self-signed';
import { loadConfig } from '../../runtime/config';
import type { NotifyChannel } from '../../runtime/notify/channel';

/** The [[notify]] channels of a config text, through the real loader (validation, ${ENV}, secrets registered). */
export function channelsOf(toml: string, env: Record<string, string> = {}): readonly NotifyChannel[] {
  const file = join(mkdtempSync(join(tmpdir(), 'notify-config-')), 'config.toml');
  writeFileSync(file, toml);
  return loadConfig(file, env).notify;
}

export interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface HttpReceiver {
  url: string;
  received: Received[];
  /** What the next requests get: a status and a delay before the answer. */
  answer: { status: number; delayMs: number };
  close(): Promise<void>;
}

export async function startHttpReceiver(port = 0): Promise<HttpReceiver> {
  const receiver = { received: [] as Received[], answer: { status: 200, delayMs: 0 } };
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      const { status, delayMs } = receiver.answer;
      setTimeout(() => {
        if (status < 300) receiver.received.push({ path: req.url ?? '', headers: req.headers, body });
        res.writeHead(status).end(status < 300 ? 'ok' : 'no');
      }, delayMs);
    });
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return Object.assign(receiver, {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  });
}

export interface Mail {
  from: string;
  to: string[];
  data: string;
}

export interface SmtpReceiver {
  port: number;
  /** The certificate to trust (ca_file). */
  caFile: string;
  mails: Mail[];
  logins: number;
  close(): Promise<void>;
}

/** STARTTLS on a plain port, AUTH PLAIN/LOGIN only after it; the one account is user/password. */
export async function startSmtpReceiver(user: string, password: string): Promise<SmtpReceiver> {
  const { key, cert } = selfSignedCertificate();
  const state = { mails: [] as Mail[], logins: 0 };
  const server = new SMTPServer({
    key: readFileSync(key),
    cert: readFileSync(cert),
    authOptional: false,
    allowInsecureAuth: false,
    logger: false,
    onAuth(auth, _session, callback) {
      if (auth.username === user && auth.password === password) {
        state.logins++;
        return callback(null, { user });
      }
      callback(new Error('Invalid username or password'));
    },
    onData(stream, session, callback) {
      let data = '';
      stream.on('data', (chunk: Buffer) => (data += chunk.toString()));
      stream.on('end', () => {
        const from = session.envelope.mailFrom;
        state.mails.push({
          from: from === false ? '' : from.address,
          to: session.envelope.rcptTo.map((r) => r.address),
          data,
        });
        callback();
      });
    },
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return Object.assign(state, {
    port: (server.server.address() as AddressInfo).port,
    caFile: cert,
    close: () => new Promise<void>((r) => server.close(() => r())),
  });
}
