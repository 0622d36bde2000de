// Health route: 200 when the database answers, 503 otherwise (load balancers and probes read the status).
import type { Hono } from 'hono';
import { checkHealth, type HealthDeps } from '../../handlers/health';
import type { AppEnv } from '../http/env';

export function registerHealthRoutes(app: Hono<AppEnv>, deps: HealthDeps): void {
  app.get('/health', async (c) => {
    const report = await checkHealth(deps);
    return c.json(report, report.status === 'healthy' ? 200 : 503);
  });
}
