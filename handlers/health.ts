// GET /health: the service is up and its database answers.

export interface HealthDeps {
  pingDatabase(): Promise<boolean>;
}

export interface HealthReport {
  status: 'healthy' | 'degraded';
  database: 'up' | 'down';
}

export async function checkHealth(deps: HealthDeps): Promise<HealthReport> {
  const up = await deps.pingDatabase().catch(() => false);
  return { status: up ? 'healthy' : 'degraded', database: up ? 'up' : 'down' };
}
