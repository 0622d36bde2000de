// The zod schemas of config.toml: every table strict, with the defaults of the README's key table.
import { z } from 'zod';
import { duration, durationOrOff, durationValue } from './duration-key';
import { size } from './size-key';
import { checkOffsite, offsiteShape } from './offsite-schema';
import { NOTIFY_KEYS } from './notify-schema';

// 0 lets the OS choose a free port (tests; the chosen port is logged).
const port = z.number().int().min(0).max(65535);
const count = z.number().int().positive();
const path = z.string().min(1);

export const tlsSchema = z.strictObject({ certificate_chain_path: path, secret_key_path: path });

export const logSchema = z.strictObject({
  level: z.enum(['error', 'warn', 'info', 'debug', 'trace']).default('info'),
  file: path.optional(),
});

const FINGERPRINT = /^SHA256:[A-Za-z0-9+/]{43}$/;
const FINGERPRINT_HINT = 'as `bomnipotent_client user request` prints it, for example "SHA256:Xr5…"';

export const userSchema = z.strictObject({
  // "email:SHA256:<fingerprint>" (or "email" with tmp_admin_key): the bootstrap admin powers belong to one key.
  tmp_admin: z
    .string()
    .regex(/^[^@\s:]+@[^@\s:]+(:SHA256:[A-Za-z0-9+/]{43})?$/, {
      error: `must be an email address, optionally followed by ":" and the key's fingerprint (${FINGERPRINT_HINT})`,
    })
    .optional(),
  tmp_admin_key: z
    .string()
    .regex(FINGERPRINT, { error: `must be a key fingerprint ${FINGERPRINT_HINT}` })
    .optional(),
  expiration_period: duration('366 days'),
});

export const dosPreventionSchema = z.strictObject({
  limit: count.default(100),
  period: duration('1 minute'),
  new_user_limit: count.default(10),
  // One address may spend only this share of the new-user budget, so that one client cannot block every registration.
  new_user_limit_per_address: count.default(3),
  // A request body that has not fully arrived by then gets 408 (slow clients must not hold the server).
  body_timeout: duration('10 s'),
});

export const authSchema = z.strictObject({ signature_window: duration('5 min') });

export const embeddedDbSchema = z.strictObject({
  data_directory: path.default('.data/embedded-postgres'),
  port: port.default(5433),
});

export const rootSchema = z.strictObject({
  db_url: z.string().optional(),
  domain: z.string().min(1).optional(),
  // Without it and with [tls], plain HTTP is off; the default 8080 applies only without [tls] (see toConfig).
  http_port: port.optional(),
  https_port: port.optional(),
  tls: tlsSchema.optional(),
  log: logSchema.prefault({}),
  user: userSchema.prefault({}),
  dos_prevention: dosPreventionSchema.prefault({}),
  auth: authSchema.prefault({}),
  embedded_db: embeddedDbSchema.prefault({}),
  // The interface to bind: 127.0.0.1 (this machine only) unless set; containers set 0.0.0.0 explicitly.
  listen_address: z.string().min(1).default('127.0.0.1'),
  https_listen_address: z.string().min(1).optional(),
  // Peers (CIDR or single addresses) whose X-Forwarded-For is believed; empty: the socket address counts.
  trusted_proxies: z.array(z.string().min(1)).default([]),
  // GET /status: the status page for a browser, unsigned (read-only, no secret); off unless set (docs/monitoring.md).
  status_page: z.boolean().default(false),
  // Each entry is checked by the schema its name selects (see taskSchemaFor).
  tasks: z
    .array(z.record(z.string(), z.unknown()), {
      error: 'must be a list of [[tasks]] tables (note the double brackets)',
    })
    .default([]),
  // Each entry is checked by notifySchema (runtime/config/notify-schema.ts).
  notify: z
    .array(z.record(z.string(), z.unknown()), {
      error: 'must be a list of [[notify]] tables (note the double brackets)',
    })
    .default([]),
});

const taskShape = {
  name: z.string().min(1),
  period: duration('1 day'),
  scheduled: z.boolean().optional(),
  enabled: z.boolean().optional(), // the older name of scheduled
};

type TaskInput = { scheduled?: boolean | undefined; enabled?: boolean | undefined };
const checkScheduled = (task: TaskInput, ctx: z.RefinementCtx) => {
  if (task.scheduled !== undefined && task.enabled !== undefined && task.scheduled !== task.enabled) {
    ctx.addIssue({
      code: 'custom',
      path: ['enabled'],
      message: 'contradicts scheduled: enabled is the older name of scheduled, keep only scheduled',
    });
  }
};

export const genericTaskSchema = z.strictObject(taskShape).superRefine(checkScheduled);

export const backupTaskSchema = z
  .strictObject({
    ...taskShape,
    directory: path,
    keep: count.optional(),
    keep_old_database: z.boolean().default(false),
    rehearse: z.boolean().default(false),
    verify_after_backup: z.boolean().default(false),
    executor: z.enum(['local', 'sidecar']).default('local'),
    executor_url: z
      .url({
        protocol: /^https?$/,
        error: 'must be an http:// or https:// URL, for example "http://executor:8081"',
      })
      .optional(),
    executor_token: z.string().min(16).optional(),
    heartbeat_url: z
      .url({
        protocol: /^https?$/,
        error: 'must be an http:// or https:// URL, for example "https://hc-ping.com/<uuid>"',
      })
      .optional(),
    signing_key: path.optional(),
    trusted_keys: z
      .array(
        z.string().regex(/^ed25519:[A-Za-z0-9+/]{43}=$/, {
          error: 'must be a public key as the server logs it, for example "ed25519:MCow...="',
        }),
      )
      .default([]),
    compression: z.enum(['zstd', 'gzip', 'none']).default('zstd'),
    encryption_recipients: z
      .array(z.string().regex(/^age1[0-9a-z]{58}$/, { error: 'must be an age recipient (age1...)' }))
      .default([]),
    encryption_identity_file: path.optional(),
    // Continuous protection (point-in-time recovery, docs/pitr.md): WAL streamed through a replication slot.
    continuous: z.boolean().default(false),
    base_backup_period: duration('1 day'),
    seal_interval: duration('30 s'),
    tail_interval: durationOrOff('4 s'),
    replication_slot: z
      .string()
      .regex(/^[a-z0-9_]{1,63}$/, { error: 'must be 1 to 63 lower-case letters, digits or underscores' })
      .default('bomnipotent_backup'),
    pitr_window: durationValue().optional(),
    max_held_wal: size('2 GB', 32 * 2 ** 20, '"32 MB" (two WAL segments)'),
    ...offsiteShape,
  })
  .superRefine((task, ctx) => {
    checkScheduled(task, ctx);
    checkOffsite(task, ctx);
    if (task.continuous && task.executor === 'sidecar') {
      ctx.addIssue({
        code: 'custom',
        path: ['continuous'],
        message: 'works with executor = "local" only for now: remove continuous or the sidecar executor',
      });
    }
    for (const key of ['executor_url', 'executor_token'] as const) {
      if (task.executor === 'sidecar' && task[key] === undefined) {
        ctx.addIssue({ code: 'custom', path: [key], message: 'is required when executor = "sidecar"' });
      }
      if (task.executor === 'local' && task[key] !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: [key],
          message: 'is only used with executor = "sidecar": add executor = "sidecar" or remove it',
        });
      }
    }
  });

export const BACKUP_TASK = 'database_backup';

export function taskSchemaFor(name: unknown): typeof genericTaskSchema | typeof backupTaskSchema {
  return name === BACKUP_TASK ? backupTaskSchema : genericTaskSchema;
}

/** The keys each table accepts, for the "unknown key" message. */
export const TABLE_KEYS: Record<string, string[]> = {
  '': Object.keys(rootSchema.shape),
  tls: Object.keys(tlsSchema.shape),
  log: Object.keys(logSchema.shape),
  user: Object.keys(userSchema.shape),
  dos_prevention: Object.keys(dosPreventionSchema.shape),
  auth: Object.keys(authSchema.shape),
  embedded_db: Object.keys(embeddedDbSchema.shape),
  notify: NOTIFY_KEYS,
};

export const TASK_KEYS = {
  generic: Object.keys(genericTaskSchema.shape),
  [BACKUP_TASK]: Object.keys(backupTaskSchema.shape),
};

export type RootInput = z.output<typeof rootSchema>;
export type GenericTask = z.output<typeof genericTaskSchema>;
export type BackupTask = z.output<typeof backupTaskSchema>;
