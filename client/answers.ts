// Calls a route of the shared table (handlers/api/routes.ts) and checks the answer against its schema: a server that
// answers something else gets a clear error naming the route and the field, not a crash further on.
import type * as z from 'zod/mini';
import { pathTo, type Route } from '../handlers/api/routes';
import { ApiError, type ApiClient, type ApiResponse } from './api';

/** The server answered, but not in the shape this client reads. */
export class AnswerError extends Error {
  override name = 'AnswerError';
}

export interface Answered<A> {
  response: ApiResponse;
  answer: A;
}

export interface CallOptions {
  /** Values of the path's `:name` parameters. */
  params?: Record<string, string>;
  /** Appended to the path as it is, e.g. `?offsite=only`. */
  query?: string;
  body?: unknown;
}

/**
 * One request to the route. A server from before a rename answers the new path 404 (no such route): the call is then
 * sent once more to the route's former path.
 */
export async function callRoute<A extends z.ZodMiniType>(
  api: ApiClient,
  route: Route<A>,
  options: CallOptions = {},
): Promise<Answered<z.output<A>>> {
  const send = (path: string) =>
    api.request(route.method, pathTo(path, options.params) + (options.query ?? ''), options.body);
  let response: ApiResponse;
  try {
    response = await send(route.path);
  } catch (error) {
    const former = route.formerPaths?.[0];
    if (!former || !(error instanceof ApiError) || error.code !== 'REQUEST.NOT_FOUND') throw error;
    response = await send(former);
  }
  return { response, answer: readAnswer(route, response) };
}

/** The answer's body as the route's schema describes it, or an AnswerError naming the first field that is not. */
export function readAnswer<A extends z.ZodMiniType>(route: Route<A>, response: ApiResponse): z.output<A> {
  const parsed = route.answer.safeParse(response.json);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const problem = issue ? describeIssue(issue, response.json) : 'it does not match';
  throw new AnswerError(
    `The server's answer to ${route.method} ${route.path} is not what this client reads: ${problem}. ` +
      'Check that the client and the server are the same version (bomnipotent_client --version).',
  );
}

type Issue = z.core.$ZodIssue;

function describeIssue(issue: Issue, body: unknown): string {
  const field = fieldName(issue.path);
  const value = valueAt(body, issue.path);
  switch (issue.code) {
    case 'invalid_type':
      return `${field} should be ${article(issue.expected)} but is ${describeValue(value)}`;
    case 'invalid_value':
      return `${field} is ${JSON.stringify(value) ?? 'missing'}, not one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'invalid_union': {
      // The branch the body meant (not refused on a tag like `state`), furthest into it, names the field.
      const inner = issue.errors
        .map((branch) => branch[0])
        .sort((x, y) => branchScore(y) - branchScore(x))[0];
      return inner
        ? describeIssue({ ...inner, path: [...issue.path, ...inner.path] }, body)
        : `${field} has none of the expected shapes`;
    }
    default:
      return `${field} is not valid (${issue.code})`;
  }
}

function branchScore(issue: Issue | undefined): number {
  if (!issue) return -1;
  return (issue.code === 'invalid_value' ? 0 : 1000) + issue.path.length;
}

function fieldName(path: readonly PropertyKey[]): string {
  if (path.length === 0) return 'the body';
  return path
    .map((key, i) => (typeof key === 'number' ? `[${key}]` : `${i === 0 ? '' : '.'}${String(key)}`))
    .join('');
}

function valueAt(body: unknown, path: readonly PropertyKey[]): unknown {
  let value = body;
  for (const key of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}

function describeValue(value: unknown): string {
  if (value === undefined) return 'missing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  const text = JSON.stringify(value);
  return `${article(typeof value)} (${text.length > 40 ? `${text.slice(0, 40)}...` : text})`;
}

function article(type: string): string {
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}
