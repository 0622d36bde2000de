// A small load generator on loopback: N keep-alive workers, bounded in requests and time; latency percentiles.
import { createPrivateKey, randomBytes, sign, type KeyObject } from 'node:crypto';
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import {
  bodyDigest,
  canonicalString,
  HEADER_DOMAIN,
  HEADER_NONCE,
  HEADER_SIGNATURE,
  HEADER_TIMESTAMP,
  HEADER_USER,
} from '../handlers/accounts/canonical';

export interface LoadResult {
  requests: number;
  ok: number;
  /** Status codes other than 200, and 0 for a failed connection. */
  failures: Record<string, number>;
  seconds: number;
  /** Successful requests per second. */
  rps: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export interface LoadOptions {
  baseUrl: string;
  path: string;
  concurrency: number;
  maxRequests: number;
  maxSeconds: number;
  /** Headers for one request; called anew for every request (signatures must not repeat). */
  headers?: () => Record<string, string>;
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index]!;
}

function get(agent: http.Agent, url: URL, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve) => {
    const req = http.request(url, { method: 'GET', agent, headers }, (res) => {
      res.resume();
      res.once('end', () => resolve(res.statusCode ?? 0));
      res.once('error', () => resolve(0));
    });
    req.once('error', () => resolve(0));
    req.end();
  });
}

export async function runLoad(o: LoadOptions): Promise<LoadResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: o.concurrency });
  const url = new URL(o.path, o.baseUrl);
  const latencies: number[] = [];
  const failures: Record<string, number> = {};
  let issued = 0;
  const started = performance.now();
  const deadline = started + o.maxSeconds * 1000;
  const worker = async () => {
    while (issued < o.maxRequests && performance.now() < deadline) {
      issued += 1;
      const headers = o.headers?.() ?? {};
      const t0 = performance.now();
      const status = await get(agent, url, headers);
      latencies.push(performance.now() - t0);
      if (status !== 200) failures[String(status)] = (failures[String(status)] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: o.concurrency }, worker));
  const seconds = (performance.now() - started) / 1000;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const failed = Object.values(failures).reduce((a, b) => a + b, 0);
  return {
    requests: latencies.length,
    ok: latencies.length - failed,
    failures,
    seconds,
    rps: (latencies.length - failed) / seconds,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    maxMs: latencies.at(-1) ?? 0,
  };
}

/**
 * Signed GET headers with a fresh signature each time: ed25519 is deterministic and the server refuses a replayed
 * signature, so every request gets its own timestamp (RFC 3339 allows 9 fraction digits; a counter fills them).
 */
export function signedGetHeaders(
  user: string,
  secretKeyPem: string,
  path: string,
  baseUrl: string,
): () => Record<string, string> {
  const origin = new URL(baseUrl).origin;
  const key: KeyObject = createPrivateKey({ key: secretKeyPem, format: 'pem' });
  const emptyBody = bodyDigest('');
  let counter = 0;
  return () => {
    counter = (counter + 1) % 1_000_000;
    const timestamp = new Date().toISOString().slice(0, -1) + String(counter).padStart(6, '0') + 'Z';
    const nonce = randomBytes(16).toString('base64url');
    const data = canonicalString({
      method: 'GET',
      origin,
      nonce,
      pathAndQuery: path,
      user,
      timestamp,
      bodySha256: emptyBody,
    });
    return {
      [HEADER_USER]: user,
      [HEADER_TIMESTAMP]: timestamp,
      [HEADER_DOMAIN]: origin,
      [HEADER_NONCE]: nonce,
      [HEADER_SIGNATURE]: sign(null, Buffer.from(data), key).toString('base64'),
    };
  };
}
