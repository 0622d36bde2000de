// docs/recovery.md's "Restoring by hand" runs as written: its shell blocks, with the test's values in place of the
// first block's, fetch a real encrypted backup from an S3 protocol server with the AWS CLI, check its signature with
// openssl and its SHA-256, decrypt with age, decompress with zstd and load it with psql into a new database.
// A backup altered in the store, or signed by another key, stops the commands before any database is created.
// The load runs as a role that is not a superuser (CREATEDB only), while the backup was made by the superuser.
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { createBackup } from '../../handlers/backup/create-backup';
import { attachOffsiteHooks, offsiteSettings } from '../support/offsite-fixture';
import { adminQuery, createTestDatabase, type TestDatabase } from '../support/pg';
import {
  createRealContext,
  migrateToLatest,
  TEST_SIGNER,
  type RealRestoreWorld,
} from '../support/restore-real';
import { testSigner } from '../support/backup-signer';
import { s3rverCredentialsEnv, startS3Server, type S3Server } from '../support/s3-server';

const PAGE = join(import.meta.dirname, '../../docs/recovery.md');

/** The ```sh blocks of the section "Restoring by hand, without this product", in order. */
function byHandBlocks(): string[] {
  const text = readFileSync(PAGE, 'utf8');
  const start = text.indexOf('## Restoring by hand, without this product');
  const end = text.indexOf('\n## ', start + 1);
  const section = text.slice(start, end === -1 ? undefined : end);
  return [...section.matchAll(/^```sh\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);
}

/** The names the first block sets (`export A=... B=...` and `C=...`), so that the page and the test stay in step. */
function namesSetBy(block: string): string[] {
  const names: string[] = [];
  for (const line of block.split('\n')) {
    const code = line.replace(/#.*$/, '');
    for (const m of code.matchAll(/(?:^|\s)([A-Z_][A-Z0-9_]*)=/g)) names.push(m[1]!);
  }
  return names.sort();
}

const quote = (value: string) => `'${value.replace(/'/g, `'\\''`)}'`;

describe('docs/recovery.md: restoring by hand', () => {
  let s3: S3Server;
  let source: TestDatabase;
  let world: RealRestoreWorld;
  let work: string;
  let file: string;
  const bucket = `recovery-${process.pid}`;
  const targets: string[] = [];
  const loader = `recovery_loader_${process.pid}_${Date.now().toString(36)}`;

  beforeAll(async () => {
    for (const [key, value] of Object.entries(s3rverCredentialsEnv())) vi.stubEnv(key, value);
    s3 = await startS3Server();
    await s3.createBucket(bucket);
    work = await mkdtemp(join(tmpdir(), 'recovery-doc-'));
    execFileSync('age-keygen', ['-o', join(work, 'age-identity.txt')], { stdio: 'ignore' });
    const recipient = /public key: (age1\w+)/.exec(
      await readFile(join(work, 'age-identity.txt'), 'utf8'),
    )![1]!;

    await adminQuery(`CREATE ROLE "${loader}" LOGIN CREATEDB`);
    source = await createTestDatabase('recovery');
    world = createRealContext({ url: source.url, directory: join(work, 'server-backups') });
    await migrateToLatest(world);
    world.settings.offsite = offsiteSettings(s3.endpoint, bucket);
    world.settings.compression = 'zstd';
    world.settings.encryptionRecipients = [recipient];
    attachOffsiteHooks(world);
    await adminQuery(
      `CREATE TABLE recovery_probe (note text); INSERT INTO recovery_probe VALUES ('before the bad day')`,
      [],
      source.name,
    );
    const made = await createBackup({ trigger: 'manual', user: null }, world.ctx);
    expect(made.warnings).toEqual([]);
    file = made.metadata.file;
    expect(file).toMatch(/\.dump\.zst\.age$/);
  }, 120_000);

  afterAll(async () => {
    for (const target of targets) await adminQuery(`DROP DATABASE IF EXISTS "${target}"`).catch(() => {});
    await world?.close();
    await source?.drop();
    await s3?.close();
    await adminQuery(`DROP ROLE IF EXISTS "${loader}"`).catch(() => {});
    await rm(work, { recursive: true, force: true });
    vi.unstubAllEnvs();
  });

  /** The page's commands with the test's values, run by bash in a folder of their own. */
  function runPage(values: { target: string; signingKey: string }) {
    const [settings, ...steps] = byHandBlocks();
    const mine: Record<string, string> = {
      AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID!,
      AWS_SECRET_ACCESS_KEY: process.env.AWS_SECRET_ACCESS_KEY!,
      AWS_DEFAULT_REGION: 'us-east-1',
      ENDPOINT: s3.endpoint,
      STORE: `s3://${bucket}/bomnipotent`,
      SIGNING_KEY: values.signingKey,
      AGE_IDENTITY: join(work, 'age-identity.txt'),
      PGHOST: '127.0.0.1',
      PGPORT: '5432',
      PGUSER: loader,
      TARGET: values.target,
    };
    expect(namesSetBy(settings!)).toEqual(Object.keys(mine).sort());
    const exports = Object.entries(mine).map(([k, v]) => `export ${k}=${quote(v)}`);
    const dir = execFileSync('mktemp', ['-d', join(work, 'by-hand-XXXXXX')], { encoding: 'utf8' }).trim();
    return spawnSync('bash', ['-c', [...exports, ...steps].join('\n')], {
      cwd: dir,
      encoding: 'utf8',
      env: {
        PATH: process.env.PATH!,
        HOME: work,
        AWS_CONFIG_FILE: '/nonexistent/aws-config',
        AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/aws-credentials',
        AWS_EC2_METADATA_DISABLED: 'true',
      },
      timeout: 120_000,
    });
  }

  async function exists(database: string): Promise<boolean> {
    const { rows } = await adminQuery('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    return rows.length === 1;
  }

  it('fetches, checks, decrypts, decompresses and loads the newest backup', async () => {
    const target = `recovered_${process.pid}`;
    targets.push(target);
    const run = runPage({ target, signingKey: TEST_SIGNER.publicKey });
    expect(run.status, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toContain(`Restoring ${file}`);
    expect(run.stdout).toContain('Signature Verified Successfully');
    expect(run.stdout).toContain(
      `The manifest is signed by ${TEST_SIGNER.publicKey} and the data file matches it.`,
    );
    expect(run.stdout.trimEnd().split('\n').at(-1)).toMatch(/^\d+$/); // the schema version
    const rows = await adminQuery<{ note: string; owner: string }>(
      `SELECT note, (SELECT tableowner FROM pg_tables WHERE tablename = 'recovery_probe') AS owner FROM recovery_probe`,
      [],
      target,
    );
    expect(rows.rows).toEqual([{ note: 'before the bad day', owner: loader }]);
  }, 120_000);

  it('stops before creating a database when the manifest is signed by another key', async () => {
    const target = `recovered_other_${process.pid}`;
    targets.push(target);
    const run = runPage({ target, signingKey: testSigner().publicKey });
    expect(run.status).not.toBe(0);
    expect(run.stdout).toContain('signed by another key');
    expect(await exists(target)).toBe(false);
  }, 120_000);

  it('stops before creating a database when the data in the store was altered', async () => {
    const client = new S3Client({ endpoint: s3.endpoint, forcePathStyle: true, region: 'us-east-1' });
    const original = await readFile(join(work, 'server-backups', file));
    const altered = Buffer.from(original);
    altered.writeUInt8(altered.readUInt8(altered.length - 1) ^ 0xff, altered.length - 1);
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: `bomnipotent/${file}`, Body: altered }));
    const target = `recovered_altered_${process.pid}`;
    targets.push(target);
    const run = runPage({ target, signingKey: TEST_SIGNER.publicKey });
    expect(run.status).not.toBe(0);
    expect(run.stdout).toContain('Signature Verified Successfully'); // the manifest is genuine ...
    expect(run.stdout).toContain('the data file does not match its signed SHA-256'); // ... the data is not
    expect(await exists(target)).toBe(false);
  }, 120_000);
});
