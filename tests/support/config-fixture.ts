// A complete Config built by hand for tests (the real loader lives in runtime/config); override what a test needs.
import type { Config } from '../../runtime/config/types';

export type ConfigOverrides = Partial<Omit<Config, 'user' | 'dosPrevention' | 'auth'>> & {
  user?: Partial<Config['user']>;
  dosPrevention?: Partial<Config['dosPrevention']>;
  auth?: Partial<Config['auth']>;
};

export function testConfig(overrides: ConfigOverrides = {}): Config {
  const { user, dosPrevention, auth, ...rest } = overrides;
  return {
    path: '/etc/bomnipotent_server/configs/config.toml',
    dbUrl: undefined,
    embeddedDb: { dataDirectory: '/tmp/bomnipotent-embedded', port: 5433 },
    domain: undefined,
    httpPort: 8080,
    httpsPort: 8443,
    tls: undefined,
    log: { level: 'info', file: undefined },
    tasks: [],
    databaseBackup: undefined,
    ...rest,
    user: { tmpAdmin: undefined, expirationPeriodMs: 366 * 24 * 3600 * 1000, ...user },
    dosPrevention: { limit: 100, periodMs: 60_000, newUserLimit: 10, ...dosPrevention },
    auth: { signatureWindowMs: 5 * 60_000, ...auth },
  };
}
