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
    statusPage: false,
    listenAddress: '127.0.0.1',
    httpsListenAddress: '127.0.0.1',
    httpPort: 8080,
    trustedProxies: [],
    httpsPort: 8443,
    tls: undefined,
    log: { level: 'info', file: undefined },
    tasks: [],
    databaseBackup: undefined,
    notify: [],
    ...rest,
    user: {
      tmpAdmin: undefined,
      tmpAdminKey: undefined,
      expirationPeriodMs: 366 * 24 * 3600 * 1000,
      ...user,
    },
    dosPrevention: {
      limit: 100,
      periodMs: 60_000,
      newUserLimit: 10,
      newUserLimitPerAddress: 10,
      bodyTimeoutMs: 10_000,
      ...dosPrevention,
    },
    auth: { signatureWindowMs: 5 * 60_000, ...auth },
  };
}
