// The maintenance state of this process, set by the restore and read by the HTTP layer.
import type { MaintenanceMode, MaintenancePhase } from '../handlers/ports';

export function createMaintenanceMode(): MaintenanceMode {
  let state: { phase: MaintenancePhase; reason: string } = { phase: 'normal', reason: '' };
  return {
    set: (phase, reason) => {
      state = { phase, reason };
    },
    get: () => state,
  };
}
