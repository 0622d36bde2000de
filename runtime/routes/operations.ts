// Long operations over HTTP: a start answers 202 with the operation's address, polling answers at once.
import type { Context, Hono } from 'hono';
import { AppError } from '../../handlers/errors';
import {
  listOperations,
  startOperation,
  waitForOperation,
  type OperationDeps,
  type OperationWork,
  type StartRequest,
} from '../../handlers/operations/run-operation';
import type { OperationRecord } from '../../handlers/operations/model';
import { NO_PROGRESS } from '../../handlers/ports/progress';
import { requireAdmin } from '../http/principal';
import type { AppEnv } from '../http/env';
import { pathTo, ROUTES } from '../../handlers/api/routes';

export const OPERATIONS_PATH = ROUTES.listOperations.path;
/** How long a client should wait between two polls of a running operation. */
export const POLL_SECONDS = 2;
/**
 * The longest a poll may ask to wait (`?wait=<seconds>`) for a running operation to end: well within the 30 s that
 * proxies and a buffered Lambda function URL allow an exchange. The client asks for less (see client/follow-operation.ts).
 */
export const MAX_WAIT_SECONDS = 25;
/** How long a start waits for the work to end before it answers 202 with a running operation. */
const SHORT_WAIT_MS = 1_000;
const KEY = /^[\x21-\x7e]{1,200}$/;
const ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function registerOperationRoutes(app: Hono<AppEnv>, operations: OperationDeps | undefined): void {
  if (!operations) return;
  app.get(OPERATIONS_PATH, requireAdmin(), async (c) => {
    const records = await listOperations(operations);
    return c.json({ operations: records.map(operationJson) });
  });
  app.get(ROUTES.getOperation.path, requireAdmin(), async (c) => {
    const id = c.req.param('id');
    if (!ID.test(id)) {
      throw new AppError('OPERATION.NOT_FOUND', 'not_found', `There is no operation '${id.slice(0, 80)}'.`, {
        suggestion: 'List the recent operations with `bomnipotent_client database-backup status`.',
      });
    }
    const record = await waitForOperation(id, operations, waitSeconds(c.req.query('wait')) * 1000);
    const headers: Record<string, string> =
      record.state === 'running' ? { 'retry-after': String(POLL_SECONDS) } : {};
    return c.json(operationJson(record), 200, headers);
  });
}

function waitSeconds(text: string | undefined): number {
  if (text === undefined) return 0;
  const seconds = Number(text);
  if (text.trim() === '' || !Number.isFinite(seconds) || seconds < 0 || seconds > MAX_WAIT_SECONDS) {
    throw new AppError(
      'REQUEST.INVALID_WAIT',
      'invalid',
      `wait must be a number of seconds from 0 to ${MAX_WAIT_SECONDS}, not '${text.slice(0, 40)}'.`,
      {
        suggestion: `Ask for example ?wait=1.5: the answer comes when the operation ends, or after that long.`,
      },
    );
  }
  return seconds;
}

/**
 * With `Prefer: respond-async` (RFC 7240) the work runs as an operation and the answer is 202 with its address;
 * without it the request waits for the work and answers as it always did.
 */
export async function answerOrStart(
  c: Context<AppEnv>,
  operations: OperationDeps | undefined,
  request: Omit<StartRequest, 'idempotencyKey'>,
  work: OperationWork,
): Promise<Response> {
  const prefer = c.req.header('prefer') ?? '';
  if (!operations || !/(^|[\s,;])respond-async([\s,;=]|$)/i.test(prefer)) {
    const outcome = await work(NO_PROGRESS);
    return c.body(outcome.body, outcome.status as 200, { 'content-type': 'application/json' });
  }
  const key = c.req.header('idempotency-key') ?? null;
  if (key !== null && !KEY.test(key)) {
    throw new AppError(
      'REQUEST.INVALID_IDEMPOTENCY_KEY',
      'invalid',
      'The Idempotency-Key header must be 1 to 200 visible ASCII characters.',
      { suggestion: 'Send a random UUID as the Idempotency-Key.' },
    );
  }
  const started = await startOperation({ ...request, idempotencyKey: key }, work, operations);
  // A short operation (a small database) is answered finished, so that the client needs no poll at all.
  const record = started.settled
    ? await settledWithin(started.settled, started.record, SHORT_WAIT_MS)
    : started.record;
  const location = pathTo(ROUTES.getOperation.path, { id: record.id });
  return c.json(operationJson(record), 202, {
    location,
    ...(record.state === 'running' ? { 'retry-after': String(POLL_SECONDS) } : {}),
    'preference-applied': 'respond-async',
  });
}

function settledWithin(
  settled: Promise<OperationRecord>,
  running: OperationRecord,
  ms: number,
): Promise<OperationRecord> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<OperationRecord>((resolve) => (timer = setTimeout(() => resolve(running), ms)));
  return Promise.race([settled, timeout]).finally(() => clearTimeout(timer));
}

export interface OperationJson {
  id: string;
  location: string;
  kind: string;
  params: Record<string, unknown>;
  user: string | null;
  state: string;
  phase: string;
  bytesDone: number | null;
  bytesTotal: number | null;
  startedAt: string;
  updatedAt: string;
  finishedAt: string | null;
  owner: string;
  /** When finished: the status and body a plain request would have got. */
  result: { status: number; body: unknown } | null;
}

export function operationJson(record: OperationRecord): OperationJson {
  return {
    id: record.id,
    location: pathTo(ROUTES.getOperation.path, { id: record.id }),
    kind: record.kind,
    params: record.params,
    user: record.user,
    state: record.state,
    phase: record.phase,
    bytesDone: record.bytesDone,
    bytesTotal: record.bytesTotal,
    startedAt: record.startedAt,
    updatedAt: record.updatedAt,
    finishedAt: record.finishedAt,
    owner: record.owner,
    result: record.outcome ? { status: record.outcome.status, body: parseBody(record.outcome.body) } : null,
  };
}

function parseBody(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
