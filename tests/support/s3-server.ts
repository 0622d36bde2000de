// A real S3 protocol server for the tests: the npm package s3rver, run as a process of its own on a free port with
// its own temporary directory, stopped and removed by the suite. It checks SigV4 signatures (access key and secret
// "S3RVER"), so wrong credentials get a real 403; it knows no Object Lock (see the README's test notes).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';

const S3RVER_BIN = createRequire(import.meta.url).resolve('s3rver/bin/s3rver.js');
const LISTENING = /S3rver listening on [\d.]+:(\d+)/;
export const S3RVER_KEY = 'S3RVER';

export interface S3Server {
  endpoint: string;
  port: number;
  /** Stops the process (the store is "down"); the data directory stays for restart(). */
  stop(): Promise<void>;
  /** Starts it again on the same port and data directory. */
  restart(): Promise<void>;
  createBucket(name: string): Promise<void>;
  /** Stops it and removes its data directory. */
  close(): Promise<void>;
}

/** Points the default AWS credential chain at s3rver's key and away from any real AWS set-up of the machine. */
export function s3rverCredentialsEnv(): Record<string, string> {
  return {
    AWS_ACCESS_KEY_ID: S3RVER_KEY,
    AWS_SECRET_ACCESS_KEY: S3RVER_KEY,
    AWS_REGION: 'us-east-1',
    AWS_CONFIG_FILE: '/nonexistent/aws-config',
    AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/aws-credentials',
    AWS_EC2_METADATA_DISABLED: 'true',
  };
}

function launch(directory: string, port: number): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(
    process.execPath,
    [S3RVER_BIN, '-d', directory, '-a', '127.0.0.1', '-p', String(port), '-s'],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  return new Promise((resolve, reject) => {
    let output = '';
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = LISTENING.exec(output);
      if (match) resolve({ child, port: Number(match[1]) });
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`s3rver exited with ${code}: ${output}`)));
  });
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((done) => {
    child.once('exit', () => done());
    child.kill('SIGKILL');
  });
}

export async function startS3Server(): Promise<S3Server> {
  const directory = await mkdtemp(join(tmpdir(), 's3rver-'));
  let current = await launch(directory, 0).catch(async (error: unknown) => {
    await rm(directory, { recursive: true, force: true });
    throw error;
  });
  const port = current.port;
  const endpoint = `http://127.0.0.1:${port}`;
  return {
    endpoint,
    port,
    stop: () => stopChild(current.child),
    restart: async () => {
      current = await launch(directory, port);
    },
    createBucket: async (name) => {
      const client = new S3Client({
        endpoint,
        region: 'us-east-1',
        forcePathStyle: true,
        credentials: { accessKeyId: S3RVER_KEY, secretAccessKey: S3RVER_KEY },
      });
      try {
        await client.send(new CreateBucketCommand({ Bucket: name }));
      } finally {
        client.destroy();
      }
    },
    close: async () => {
      await stopChild(current.child);
      await rm(directory, { recursive: true, force: true });
    },
  };
}
