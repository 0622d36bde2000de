// The Lambda entries with real-shaped events: API Gateway HTTP API (v2) requests and an EventBridge schedule.
import { generateKeyPairSync, createPublicKey } from 'node:crypto';
import { mkdtempSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2, Context, EventBridgeEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type * as LambdaModule from '../../runtime/lambda';
import { createTestDatabase, type TestDatabase } from '../support/pg';
import { writeConfig } from '../support/server-process';
import { publicKeyId } from '../../handlers/backup/manifest';

function httpEvent(method: string, path: string): APIGatewayProxyEventV2 {
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: path,
    rawQueryString: '',
    headers: { host: 'abc123.lambda-url.eu-central-1.on.aws', accept: 'application/json' },
    requestContext: {
      accountId: '123456789012',
      apiId: 'abc123',
      domainName: 'abc123.lambda-url.eu-central-1.on.aws',
      domainPrefix: 'abc123',
      http: { method, path, protocol: 'HTTP/1.1', sourceIp: '198.51.100.7', userAgent: 'vitest' },
      requestId: 'req-1',
      routeKey: '$default',
      stage: '$default',
      time: '11/Jan/2026:10:30:24 +0000',
      timeEpoch: 1_768_127_424_000,
    },
    isBase64Encoded: false,
  };
}

const scheduleEvent: EventBridgeEvent<'Scheduled Event', Record<string, never>> = {
  version: '0',
  id: '53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa',
  'detail-type': 'Scheduled Event',
  source: 'aws.events',
  account: '123456789012',
  time: '2026-01-11T10:30:24Z',
  region: 'eu-central-1',
  resources: ['arn:aws:events:eu-central-1:123456789012:rule/bomnipotent-tasks'],
  detail: {},
};

const context = { functionName: 'bomnipotent', awsRequestId: 'req-1' } as Context;

describe('runtime/lambda', () => {
  let db: TestDatabase;
  const backups = mkdtempSync(join(tmpdir(), 'bomnipotent-lambda-'));
  let lambda: typeof LambdaModule;
  // The key as the template passes it: from Secrets Manager into the environment (the file system is read-only).
  const { privateKey } = generateKeyPairSync('ed25519');

  beforeAll(async () => {
    db = await createTestDatabase('lambda');
    process.env.BOMNIPOTENT_CONFIG = writeConfig(
      `db_url = "${db.url}"\n[log]\nlevel = "error"\n[[tasks]]\nname = "database_backup"\ndirectory = "${backups}"\nperiod = "1 day"\n`,
    );
    process.env.BOMNIPOTENT_SIGNING_KEY_PEM = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    lambda = await import('../../runtime/lambda');
  });
  afterAll(async () => {
    const { server } = await lambda.boot();
    await server.close();
    delete process.env.BOMNIPOTENT_CONFIG;
    delete process.env.BOMNIPOTENT_SIGNING_KEY_PEM;
    delete process.env.BOMNIPOTENT_SIGNING_KEY;
    await db.drop();
  });

  it('signs with the key of BOMNIPOTENT_SIGNING_KEY_PEM, kept in a private file under the temp directory', async () => {
    const { server } = await lambda.boot();
    expect(server.backups.task.snapshot()!.store.signingKey()).toBe(publicKeyId(createPublicKey(privateKey)));
    const file = process.env.BOMNIPOTENT_SIGNING_KEY!;
    expect(file.startsWith(tmpdir())).toBe(true);
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it('serves GET /health through the function URL handler', async () => {
    const result = (await lambda.handler(httpEvent('GET', '/health'), context)) as APIGatewayProxyResultV2 & {
      statusCode: number;
      body: string;
    };
    expect(result.statusCode).toBe(200);
    expect(JSON.parse(result.body)).toEqual({ status: 'healthy', database: 'up' });
  });

  it('answers an unsigned backup request with 401 problem+json', async () => {
    const result = (await lambda.handler(httpEvent('POST', '/database-backup'), context)) as {
      statusCode: number;
      body: string;
      headers: Record<string, string>;
    };
    expect(result.statusCode).toBe(401);
    expect(result.headers['content-type']).toContain('application/problem+json');
    expect(readdirSync(backups).filter((f) => /\.dump(\.zst|\.gz)?$/.test(f))).toHaveLength(0);
  });

  it('runs the due backup task on a scheduled event, and not again within its period', async () => {
    expect(await lambda.scheduled(scheduleEvent)).toEqual({ results: { database_backup: 'succeeded' } });
    expect(readdirSync(backups).filter((f) => /\.dump(\.zst|\.gz)?$/.test(f))).toHaveLength(1);
    expect(await lambda.scheduled(scheduleEvent)).toEqual({ results: { database_backup: 'not-due' } });
    expect(readdirSync(backups).filter((f) => /\.dump(\.zst|\.gz)?$/.test(f))).toHaveLength(1);
  });
});
