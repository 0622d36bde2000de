// The client's output modes, log levels and --log-file rules.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createOutput } from '../../client/output';

function capture() {
  const streams = { out: '', err: '' };
  return {
    streams,
    sink: { stdout: (t: string) => (streams.out += t), stderr: (t: string) => (streams.err += t) },
  };
}

const response = { status: 201, text: '{"ok":true}' };

/** An output in `mode` at `level` that prints into `streams`. */
function captured(mode: Parameters<typeof createOutput>[0], level: Parameters<typeof createOutput>[1]) {
  const { streams, sink } = capture();
  return { streams, out: createOutput(mode, level, undefined, sink) };
}

describe('client output', () => {
  it('normal mode prints the message as an [INFO] line', () => {
    const { streams, sink } = capture();
    createOutput('normal', 'info', undefined, sink).result(response, 'Done.');
    expect(streams).toEqual({ out: '[INFO] Done.\n', err: '' });
  });

  it('code mode prints only the status code, without a newline, and warnings to stderr', () => {
    const { streams, out } = captured('code', 'info');
    out.log('warn', 'careful');
    out.log('info', 'hidden');
    out.result(response, 'Done.');
    expect(streams).toEqual({ out: '201', err: '[WARN] careful\n' });
  });

  it('raw mode prints only the body', () => {
    const { streams, out } = captured('raw', 'info');
    out.detail('a table');
    out.result(response, 'Done.');
    expect(streams).toEqual({ out: '{"ok":true}', err: '' });
  });

  it('filters by log level', () => {
    const { streams, out } = captured('normal', 'warn');
    out.log('info', 'chatty');
    out.log('error', 'bad');
    expect(streams).toEqual({ out: '', err: '[ERROR] bad\n' });
  });

  it('appends timestamped lines to a log file instead of printing them', () => {
    const dir = mkdtempSync(join(tmpdir(), 'client-log-'));
    const file = join(dir, 'client.log');
    const { streams, sink } = capture();
    createOutput('normal', 'info', file, sink).result(response, 'Done.');
    createOutput('normal', 'info', file, sink).log('error', 'Second.');
    expect(streams.out).toBe('');
    expect(readFileSync(file, 'utf8')).toMatch(
      /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} \+00:00 \[INFO\] Done\.\n\d{4}-.* \[ERROR\] Second\.\n$/,
    );
  });

  it('refuses a log file that exists and does not look like a log, and leaves it unchanged', () => {
    const dir = mkdtempSync(join(tmpdir(), 'client-log-'));
    const file = join(dir, 'secret_key.pem');
    writeFileSync(file, '-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----\n');
    expect(() => createOutput('normal', 'info', file)).toThrow(/does not look like a log file/);
    expect(readFileSync(file, 'utf8')).toContain('BEGIN PRIVATE KEY');
  });
});
