// Starts a long operation (202 + polling) and follows it to its end; answers with what a plain request would have.
import { randomUUID } from 'node:crypto';
import type * as z from 'zod/mini';
import { ROUTES, type Route } from '../handlers/api/routes';
import type { operationAnswer } from '../handlers/api/backup-answers';
import { ApiError, UnreachableError, toApiResponse, type ApiClient, type ApiResponse } from './api';
import { readAnswer } from './answers';
import type { Output } from './output';

/** The operation as the server shows it (runtime/routes/operations.ts; its schema in handlers/api). */
export type OperationView = z.output<typeof operationAnswer>;

const operationOf = (response: ApiResponse): OperationView => readAnswer(ROUTES.getOperation, response);

export interface ProgressView {
  update(operation: OperationView): void;
  stop(): void;
}

export interface FollowOptions {
  api: ApiClient;
  out: Output;
  progress?: ProgressView | undefined;
  sleep?: (ms: number) => Promise<void>;
  /** Give up after this long without any answer from the server (default 10 minutes). */
  patienceMs?: number;
}

const START_ATTEMPTS = 4;
/**
 * How long each poll asks the server to hold it while the operation runs (`?wait=`): the answer comes the moment it
 * ends. Below the idle timeout of the most impatient proxy in front of a server (the tests' cuts at 2 s; nginx and
 * load balancers at 30-60 s), so that no proxy ever sees the exchange idle for long.
 */
const WAIT_S = 1.5;
const MAX_WAIT_MS = 10_000;
const EARLY_POLLS_MS = [250, 500, 1000];

/**
 * Starts the operation with an idempotency key (a retried start never runs it twice) and polls it. A server
 * that answers the start at once (an older one) is taken as it is.
 */
export async function runOperation(
  route: Route,
  body: unknown,
  options: FollowOptions,
): Promise<ApiResponse> {
  const headers = { prefer: 'respond-async', 'idempotency-key': randomUUID() };
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  let started: ApiResponse | undefined;
  for (let attempt = 1; !started; attempt += 1) {
    try {
      started = await options.api.request(route.method, route.path, body, headers);
    } catch (error) {
      if (!(error instanceof UnreachableError) || attempt >= START_ATTEMPTS) throw error;
      options.out.log('debug', `${error.message} Trying again with the same idempotency key.`);
      await sleep(1000 * attempt);
    }
  }
  if (started.status !== 202) return started;
  const location = started.headers.get('location') ?? operationOf(started).location;
  options.out.log('debug', `The server runs this as operation ${location}; following it.`);
  try {
    const done = await follow(started, location, { ...options, sleep });
    return outcomeResponse(done);
  } finally {
    options.progress?.stop();
  }
}

async function follow(
  first: ApiResponse,
  location: string,
  options: FollowOptions & { sleep: (ms: number) => Promise<void> },
): Promise<OperationView> {
  let response = first;
  let lastContact = Date.now();
  let failures = 0;
  // Until a server shows it does not wait (an older one answers a running operation at once): waiting polls.
  let serverWaits = true;
  for (let poll = 0; ; poll += 1) {
    const operation = operationOf(response);
    options.progress?.update(operation);
    if (operation.state !== 'running') return operation;
    // The first polls come sooner than the server's hint: an operation of a few seconds ends without a long wait.
    if (!serverWaits)
      await options.sleep(Math.min(waitMs(response.headers, 1000), EARLY_POLLS_MS[poll] ?? MAX_WAIT_MS));
    for (;;) {
      try {
        const sent = Date.now();
        response = await options.api.request('GET', serverWaits ? `${location}?wait=${WAIT_S}` : location);
        lastContact = Date.now();
        failures = 0;
        const answered = operationOf(response).state !== 'running';
        if (serverWaits && !answered && lastContact - sent < (WAIT_S * 1000) / 2) {
          options.out.log('debug', 'The server answers polls at once; polling at its Retry-After instead.');
          serverWaits = false;
        }
        break;
      } catch (error) {
        if (!transient(error)) throw error;
        failures += 1;
        if (Date.now() - lastContact > (options.patienceMs ?? 600_000)) throw lostContact(location, error);
        options.out.log('debug', `Polling ${location} failed (${(error as Error).message}); trying again.`);
        const hinted = error instanceof ApiError ? waitMs(error.response.headers, 0) : 0;
        await options.sleep(Math.max(hinted, Math.min(MAX_WAIT_MS, 500 * 2 ** Math.min(failures, 5))));
      }
    }
  }
}

/**
 * A GET that waits out what passes by itself: a restore's swap (503 with Retry-After), a proxy's 502/504, a cut
 * connection. Gives up after `patienceMs` (default 30 s) with the last error.
 */
export async function getPatiently(
  api: ApiClient,
  path: string,
  options: { out: Output; sleep?: (ms: number) => Promise<void>; patienceMs?: number },
): Promise<ApiResponse> {
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const deadline = Date.now() + (options.patienceMs ?? 30_000);
  for (let failures = 1; ; failures += 1) {
    try {
      return await api.request('GET', path);
    } catch (error) {
      if (!transient(error) || Date.now() >= deadline) throw error;
      options.out.log('debug', `GET ${path} failed (${(error as Error).message}); trying again.`);
      const hinted = error instanceof ApiError ? waitMs(error.response.headers, 0) : 0;
      await sleep(Math.max(hinted, Math.min(MAX_WAIT_MS, 250 * 2 ** Math.min(failures, 5))));
    }
  }
}

/** Retry-After in ms, bounded: the server says how often to ask. */
function waitMs(headers: Headers, fallback: number): number {
  const seconds = Number(headers.get('retry-after'));
  if (!Number.isFinite(seconds) || headers.get('retry-after') === null) return fallback;
  return Math.min(MAX_WAIT_MS, Math.max(0, seconds * 1000));
}

/** A cut connection, a proxy's 502/504, a restore's brief 503: the operation goes on, so ask again. */
function transient(error: unknown): boolean {
  if (error instanceof UnreachableError) return true;
  return error instanceof ApiError && [502, 503, 504].includes(error.response.status);
}

function lostContact(location: string, error: unknown): Error {
  const id = location.split('/').pop() ?? location;
  return new Error(
    `Lost contact with the server while following operation ${id} (${(error as Error).message}). ` +
      `The operation goes on without the client: see \`bomnipotent_client database-backup status ${id}\`.`,
  );
}

/** The answer the operation recorded, as if the start request had returned it. */
function outcomeResponse(operation: OperationView): ApiResponse {
  const result = operation.result ?? {
    status: 500,
    body: { code: 'OPERATION.NO_RESULT', detail: `Operation ${operation.id} ended without a result.` },
  };
  const text = typeof result.body === 'string' ? result.body : JSON.stringify(result.body);
  return toApiResponse(result.status, '', text, new Headers({ 'content-type': 'application/json' }));
}
