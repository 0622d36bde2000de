// While the server starts (waiting for its database, recovering, migrating), its listeners are bound already but
// answer every request but /health with 503: GET /ready with the reason in the readiness shape, so that a probe or
// an orchestrator reads "database not reachable" instead of a refused connection; the rest as SERVER.STARTING.
import { AppError } from '../../handlers/errors';
import { PROBLEM_JSON, statusOf, toProblem } from '../http/problem';

export interface StartGate {
  /** Why the server does not serve yet; null once it does. */
  reason(): string | null;
  set(reason: string): void;
  /** The server serves: the gate lets everything through, and the waiting announcements run. */
  open(): void;
  /** Runs `then` when the gate opens (at once when it is open). */
  onOpen(then: () => void): void;
}

export const WAITING_FOR_DATABASE =
  'The database is not reachable yet: the server is waiting for it at start (its log says why; check db_url and ' +
  'that PostgreSQL runs).';
export const PREPARING =
  'The server is starting: the database answers, and the server finishes interrupted work and migrates it.';

export function createStartGate(initial: string = WAITING_FOR_DATABASE): StartGate {
  let reason: string | null = initial;
  let waiting: (() => void)[] = [];
  return {
    reason: () => reason,
    set: (next) => void (reason = next),
    open: () => {
      reason = null;
      const run = waiting;
      waiting = [];
      for (const then of run) then();
    },
    onOpen: (then) => (reason === null ? then() : void waiting.push(then)),
  };
}

/** The answer while the gate is closed, or null to pass the request on (/health: the liveness answer as ever). */
export function startingResponse(gate: StartGate, path: string): Response | null {
  const reason = gate.reason();
  if (reason === null || path === '/health') return null;
  const headers = { 'retry-after': '1' };
  if (path === '/ready') {
    const body = { status: 'not ready', reasons: [reason], warnings: [] };
    return Response.json(body, { status: 503, headers });
  }
  const problem = toProblem(
    new AppError('SERVER.STARTING', 'unavailable', reason, { suggestion: 'Try again in a few seconds.' }),
  );
  return new Response(JSON.stringify(problem), {
    status: statusOf('unavailable'),
    headers: { ...headers, 'content-type': PROBLEM_JSON },
  });
}
