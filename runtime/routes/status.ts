// The status at a glance: GET /database-backup/status (JSON, signed by an admin like every other admin read) and,
// only with status_page = true, GET /status (the same as an HTML page for a browser, which cannot sign: read-only,
// no secret; docs/monitoring.md says why that is safe to turn on and when not).
import type { Hono } from 'hono';
import { AppError } from '../../handlers/errors';
import { readBackupStatus, type StatusDeps } from '../../handlers/backup/status';
import { requireAdmin } from '../http/principal';
import type { AppEnv } from '../http/env';
import { ROUTES } from '../../handlers/api/routes';
import { renderStatusPage, STATUS_PAGE_CSP } from './status-page';

export interface StatusRouteDeps {
  /** The status' ports as configured now (the domain may change on a reload). */
  deps: () => StatusDeps;
  /** status_page in config.toml now (hot reload). */
  pageEnabled: () => boolean;
}

export function registerStatusRoutes(app: Hono<AppEnv>, status: StatusRouteDeps | undefined): void {
  if (!status) return;
  app.get(ROUTES.backupStatus.path, requireAdmin(), async (c) =>
    c.json(await readBackupStatus(status.deps()), 200, { 'cache-control': 'no-store' }),
  );
  app.get('/status', async (c) => {
    if (!status.pageEnabled()) {
      throw new AppError('REQUEST.NOT_FOUND', 'not_found', 'No route for GET /status.', {
        suggestion:
          'The status page is off: set status_page = true in config.toml to serve it (docs/monitoring.md).',
      });
    }
    const page = renderStatusPage(await readBackupStatus(status.deps()));
    return c.html(page, 200, {
      'content-security-policy': STATUS_PAGE_CSP,
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      'x-frame-options': 'DENY',
      'referrer-policy': 'no-referrer',
    });
  });
}
