// The one line a restore or rehearsal logs about the grants it skipped: the dump named roles this server lacks.
import type { Logger } from '../ports/logger';
import type { RestoreReport } from './model';

export function missingRolesLine(roles: readonly string[]): string | null {
  if (roles.length === 0) return null;
  const shown = roles.slice(0, 20).join(', ') + (roles.length > 20 ? ` and ${roles.length - 20} more` : '');
  return (
    `Grants and revokes to roles this PostgreSQL server does not have were skipped: ${shown}. ` +
    'The restore went on; create those roles and grant again if they should have access.'
  );
}

export function reportMissingRoles(logger: Logger, report: RestoreReport | void): void {
  const line = missingRolesLine(report?.missingRoles ?? []);
  if (line) logger.warn(line);
}
