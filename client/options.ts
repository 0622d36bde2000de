// The client's global options (SPEC section 5), as given on the command line or stored by `session login`.

export const OUTPUT_MODES = ['normal', 'code', 'raw'] as const;
export type OutputMode = (typeof OUTPUT_MODES)[number];
export const CLIENT_LOG_LEVELS = ['error', 'warn', 'info', 'debug', 'trace'] as const;
export type ClientLogLevel = (typeof CLIENT_LOG_LEVELS)[number];

export interface GlobalOptions {
  domain?: string | undefined;
  user?: string | undefined;
  secretKey?: string | undefined; // path to the PEM secret key
  outputMode?: OutputMode | undefined;
  logLevel?: ClientLogLevel | undefined;
  logFile?: string | undefined;
}

/** Options given on this call win over the stored session. */
export function mergeOptions(session: GlobalOptions, call: GlobalOptions): GlobalOptions {
  const merged: GlobalOptions = { ...session };
  for (const [key, value] of Object.entries(call) as [keyof GlobalOptions, string | undefined][]) {
    if (value !== undefined) (merged as Record<string, string>)[key] = value;
  }
  return merged;
}
