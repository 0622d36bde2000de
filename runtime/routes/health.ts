// Health routes: /health is liveness (200 when the database answers, 503 otherwise); /ready is readiness (200 when
// backups can run, 503 naming each reason they cannot). Load balancers and probes read the status.
import type { Hono } from 'hono';
import { checkHealth, type HealthDeps } from '../../handlers/health';
import { checkReadiness, type ReadinessDeps, type ReadinessReport } from '../../handlers/readiness';
import type { AppEnv } from '../http/env';
import { ROUTES } from '../../handlers/api/routes';

export function registerHealthRoutes(app: Hono<AppEnv>, deps: HealthDeps, readiness?: ReadinessDeps): void {
  app.get(ROUTES.health.path, async (c) => {
    const report = await checkHealth(deps);
    return c.json(report, report.status === 'healthy' ? 200 : 503);
  });
  if (!readiness) return;
  // Probes that arrive together share one check (it runs the tools' --version and asks the executor).
  let pending: Promise<ReadinessReport> | undefined;
  app.get(ROUTES.ready.path, async (c) => {
    pending ??= checkReadiness(readiness).finally(() => (pending = undefined));
    const report = await pending;
    return c.json(report, report.status === 'ready' ? 200 : 503);
  });
}
