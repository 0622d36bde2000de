// How the server names what went wrong with its sidecar: gone, silent, refusing, or speaking another protocol.
import { AppError } from '../../handlers/errors';
import { maskSecrets } from '../observability/mask';
import { cancelled } from '../executor/errors';
import { appErrorFromProblem } from './protocol';

const UNREACHABLE_SUGGESTION =
  'Check that the executor sidecar runs (bomnipotent_executor), that executor_url in the database_backup task points at it, and that nothing between them blocks the port.';

/** `shownUrl` is the sidecar's address with any secret masked. */
export function unreachable(shownUrl: string, reason: string, during?: string): AppError {
  return new AppError(
    'EXECUTOR.SIDECAR_UNREACHABLE',
    'unavailable',
    during
      ? `The executor sidecar at ${shownUrl} stopped answering during the ${during}: ${maskSecrets(reason)}. Nothing was stored by this operation.`
      : `The executor sidecar at ${shownUrl} did not answer: ${maskSecrets(reason)}.`,
    { suggestion: UNREACHABLE_SUGGESTION },
  );
}

export function protocolError(shownUrl: string, during: string): AppError {
  return new AppError(
    'EXECUTOR.SIDECAR_PROTOCOL',
    'failed',
    `The executor sidecar at ${shownUrl} sent an answer this server does not understand during the ${during}.`,
    {
      suggestion: 'Run the same version of bomnipotent_executor as of the server.',
    },
  );
}

/** What can end a wait for the sidecar: the caller's cancel, the deadline, the heartbeat watchdog. */
export interface WaitSignals {
  signal: AbortSignal | undefined;
  deadline: AbortSignal;
  idle?: AbortSignal | undefined;
}

/** The caller's cancel, the day-long deadline, the heartbeat watchdog, or the network itself. */
export function failure(shownUrl: string, error: unknown, wait: WaitSignals, during?: string): AppError {
  if (wait.signal?.aborted) {
    return cancelled(during ?? 'executor operation');
  }
  if (wait.deadline.aborted) return unreachable(shownUrl, 'no answer within the time limit', during);
  if (wait.idle?.aborted)
    return unreachable(
      shownUrl,
      String((wait.idle.reason as Error | undefined)?.message ?? 'silence'),
      during,
    );
  return unreachable(shownUrl, networkReason(error), during);
}

/** 401/403/404 mean the server and the sidecar disagree about their settings: a configuration error for the server. */
export async function refusal(shownUrl: string, response: Response): Promise<AppError> {
  let problem: unknown;
  try {
    problem = await response.json();
  } catch {
    problem = undefined;
  }
  const error = appErrorFromProblem(
    problem,
    `The executor sidecar at ${shownUrl} answered HTTP ${response.status}.`,
  );
  if (response.status === 401 || response.status === 403 || response.status === 404) {
    const code = error.code.startsWith('EXECUTOR.') ? error.code : 'EXECUTOR.SIDECAR_REFUSED';
    return new AppError(
      code,
      'misconfigured',
      `The executor sidecar at ${shownUrl} refused the request: ${error.message}`,
      {
        suggestion: error.suggestion ?? 'Check executor_url and executor_token in the database_backup task.',
      },
    );
  }
  return error;
}

function networkReason(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause as { code?: string; message?: string } | undefined;
  return cause?.message ?? cause?.code ?? error.message;
}
