// With a [tls] section the server also listens for HTTPS, on https_port.
import { mkdtempSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tearDown } from '../support/teardown';
import { createTestDatabase, type TestDatabase } from '../support/pg';
import { startListening, writeConfig, type ServerProcess } from '../support/server-process';
import { selfSignedCertificate } from '../support/self-signed';

function getInsecure(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    https
      .get(url, { rejectUnauthorized: false }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

describe('TLS listener', () => {
  let db: TestDatabase;
  let server: ServerProcess | undefined;

  beforeAll(async () => {
    db = await createTestDatabase('e2e_tls');
  });
  afterAll(() => tearDown({ stop: [server], db }));

  it('serves /health over HTTPS next to HTTP', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bomnipotent-tls-'));
    selfSignedCertificate(dir);
    const config = writeConfig(
      `db_url = "${db.url}"\nhttp_port = 0\nhttps_port = 0\n[tls]\ncertificate_chain_path = "chain.pem"\nsecret_key_path = "key.pem"\n`,
      dir,
    );
    server = await startListening(config);
    const m = await server.waitFor(/Listening on https:\/\/127\.0\.0\.1:(\d+)/);
    const answer = await getInsecure(`https://127.0.0.1:${m[1]}/health`);
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toEqual({ status: 'healthy', database: 'up' });
  });
});
