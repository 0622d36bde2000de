// Whether a database statement failed because its session was ended or its connection cut (no pg import: the HTTP
// error mapping, which the sidecar shares, uses it too).
const ADMIN_SHUTDOWN = '57P01';
/** node-postgres's own messages for a connection that was cut (they carry no SQLSTATE). */
const CONNECTION_LOST = new Set([
  'Connection terminated unexpectedly',
  'Client has encountered a connection error and is not queryable',
]);

/** The statement failed because its session was ended (pg_terminate_backend, as a restore does) or its link cut. */
export function sessionEnded(error: unknown): boolean {
  if ((error as { code?: unknown } | null)?.code === ADMIN_SHUTDOWN) return true;
  return error instanceof Error && CONNECTION_LOST.has(error.message);
}
