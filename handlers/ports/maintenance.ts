// This process's maintenance state, set by a restore and read by the HTTP layer.

export type MaintenancePhase = 'normal' | 'read-only' | 'unavailable';

/** Read by the HTTP layer: read-only answers writes 503, unavailable answers everything but /health 503. */
export interface MaintenanceMode {
  set(phase: MaintenancePhase, reason: string): void;
  get(): { phase: MaintenancePhase; reason: string };
  /** The HTTP layer counts write requests while they run (start returns the function that ends the count). */
  writeStarted(): () => void;
  /**
   * Resolves true once no write request that passed the gate before read-only is still running (its changes
   * would reach the old database and be lost in the swap); false when some still run after timeoutMs.
   */
  writesSettled(timeoutMs: number): Promise<boolean>;
}
