// The server's configuration after parsing and validation: frozen, typed, and passed down from runtime/node.ts.
import type { LogLevel } from '../../handlers/ports/logger';
import type { BackupTaskSettings } from '../../handlers/backup/settings';
import type { NotifyChannel } from '../notify/channel';

export interface TaskSettings {
  name: string;
  periodMs: number;
  scheduled: boolean;
}

export interface Config {
  /** Absolute path of the file this came from. */
  readonly path: string;
  /** postgres://user:password@host:port/database; undefined means the embedded PostgreSQL. Secret: log only through maskUrl(). */
  readonly dbUrl: string | undefined;
  readonly embeddedDb: { readonly dataDirectory: string; readonly port: number };
  readonly domain: string | undefined;
  /** GET /status serves the status page (unsigned, read-only); false: 404. */
  readonly statusPage: boolean;
  /** The interface the HTTP listener binds; default 127.0.0.1 (this machine only). */
  readonly listenAddress: string;
  /** The interface the HTTPS listener binds; default listenAddress. */
  readonly httpsListenAddress: string;
  /** undefined: plain HTTP is off ([tls] set and http_port not set explicitly); else default 8080. */
  readonly httpPort: number | undefined;
  readonly httpsPort: number; // default 8443, only with tls
  readonly tls: { readonly certificateChainPath: string; readonly secretKeyPath: string } | undefined;
  readonly log: { readonly level: LogLevel; readonly file: string | undefined };
  /** Peers whose X-Forwarded-For is believed, as CIDR ("10.0.0.0/8") or single addresses. */
  readonly trustedProxies: readonly string[];
  readonly user: {
    readonly tmpAdmin: string | undefined; // the email alone
    /** The fingerprint of the one key that gets tmp_admin powers (from "email:SHA256:..." or tmp_admin_key). */
    readonly tmpAdminKey: string | undefined;
    readonly expirationPeriodMs: number;
  };
  readonly dosPrevention: {
    readonly limit: number;
    readonly periodMs: number;
    readonly newUserLimit: number;
    readonly newUserLimitPerAddress: number;
    readonly bodyTimeoutMs: number;
  };
  /** Signed requests: how far a timestamp may be from the server's clock (and how long a signature is remembered). */
  readonly auth: { readonly signatureWindowMs: number };
  /** Every [[tasks]] entry; the backup task also appears, fully parsed, in databaseBackup. */
  readonly tasks: readonly TaskSettings[];
  readonly databaseBackup: BackupTaskSettings | undefined;
  /** The [[notify]] tables: where problems with the backups are sent. */
  readonly notify: readonly NotifyChannel[];
}
