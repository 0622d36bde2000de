// The HTTP API in one table, shared by the server (runtime/routes/* register these paths) and the client (which
// calls them and checks each answer against its schema instead of trusting its shape). Paths use Hono's `:name`
// for a parameter; `formerPaths` are earlier names of the same resource that the server still answers.
import type * as z from 'zod/mini';
import {
  createAnswer,
  listAnswer,
  notifyTestAnswer,
  operationAnswer,
  operationsAnswer,
  pitrRehearseAnswer,
  pointAnswer,
  rehearseAnswer,
  restoreAnswer,
  statusAnswer,
  verifyAnswer,
} from './backup-answers';
import {
  anyAnswer,
  revokeKeyAnswer,
  userListAnswer,
  userRequestAnswer,
  whoAmIAnswer,
} from './account-answers';

export type Method = 'GET' | 'POST' | 'DELETE';

export interface Route<A extends z.ZodMiniType = z.ZodMiniType, P extends string = string> {
  readonly method: Method;
  readonly path: P;
  readonly answer: A;
  readonly formerPaths?: readonly string[];
}

const route = <A extends z.ZodMiniType, P extends string>(
  method: Method,
  path: P,
  answer: A,
  formerPaths?: readonly string[],
): Route<A, P> => ({ method, path, answer, ...(formerPaths ? { formerPaths } : {}) });

const BACKUP = '/database-backup' as const;

export const ROUTES = {
  health: route('GET', '/health', anyAnswer),
  ready: route('GET', '/ready', anyAnswer),
  metrics: route('GET', '/metrics', anyAnswer),
  statusPage: route('GET', '/status', anyAnswer),

  requestUser: route('POST', '/users', userRequestAnswer),
  listUsers: route('GET', '/users', userListAnswer),
  approveUser: route('POST', '/users/:user/approve', anyAnswer),
  denyUser: route('POST', '/users/:user/deny', anyAnswer),
  revokeKey: route('POST', '/users/:user/revoke-key', revokeKeyAnswer),
  addRole: route('POST', '/users/:user/roles', anyAnswer),
  removeRole: route('DELETE', '/users/:user/roles/:role', anyAnswer),
  whoAmI: route('GET', '/who-am-i', whoAmIAnswer),

  // One resource, one name: /database-backup. The list and verify answered under /database-backups first.
  createBackup: route('POST', BACKUP, createAnswer),
  listBackups: route('GET', BACKUP, listAnswer, ['/database-backups']),
  verifyBackups: route('POST', `${BACKUP}/verify`, verifyAnswer, ['/database-backups/verify']),
  rehearseBackup: route('POST', `${BACKUP}/rehearse`, rehearseAnswer),
  /** The same route with {"pitr": true}: a rehearsal of a restore to a point, which answers another shape. */
  rehearsePoint: route('POST', `${BACKUP}/rehearse`, pitrRehearseAnswer),
  restoreBackup: route('POST', `${BACKUP}/restore`, restoreAnswer),
  /** The same route with {"to": <time>}: a point-in-time restore, which answers another shape. */
  restoreToPoint: route('POST', `${BACKUP}/restore`, pointAnswer),
  notifyTest: route('POST', `${BACKUP}/notify-test`, notifyTestAnswer),
  backupStatus: route('GET', `${BACKUP}/status`, statusAnswer),
  listOperations: route('GET', `${BACKUP}/operations`, operationsAnswer),
  getOperation: route('GET', `${BACKUP}/operations/:id`, operationAnswer),
} as const;

/** The path and its former names: what the server registers. */
export function pathsOf(r: Route): string[] {
  return [r.path, ...(r.formerPaths ?? [])];
}

/** The path with its `:name` parameters filled in, each URL-encoded. */
export function pathTo(path: string, params: Record<string, string> = {}): string {
  return path.replace(/:([a-z]+)/gi, (_, name: string) => {
    const value = params[name];
    if (value === undefined) throw new Error(`No value for :${name} in ${path}.`);
    return encodeURIComponent(value);
  });
}
