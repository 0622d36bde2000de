// What the server answers on the backup routes, as the client reads it: zod/mini schemas (small enough for the
// client bundle). Loose objects: a newer server may add fields; what is listed is what the client needs.
import * as z from 'zod/mini';

const standby = z.nullable(z.looseObject({ database: z.string(), sizeBytes: z.number() }));

export const createAnswer = z.looseObject({ path: z.string(), warnings: z.optional(z.array(z.string())) });

const listedRehearsal = z.union([
  z.looseObject({
    state: z.enum(['passed', 'failed']),
    at: z.string(),
    rows: z.number(),
    tables: z.number(),
    error: z.nullable(z.string()),
    standby,
  }),
  z.looseObject({ state: z.literal('untrusted'), reason: z.string() }),
]);

export const listingEntry = z.looseObject({
  file: z.string(),
  takenAt: z.string(),
  sizeBytes: z.number(),
  trigger: z.nullable(z.string()),
  user: z.nullable(z.string()),
  verified: z.boolean(),
  state: z.optional(z.string()),
  problem: z.optional(z.string()),
  location: z.optional(z.enum(['local', 'offsite', 'both'])), // from servers with off-site copies
  serverVersion: z.optional(z.nullable(z.string())), // from servers that say it
  rehearsal: z.optional(z.nullable(listedRehearsal)), // from servers with rehearsals
});

const pitrSummary = z.looseObject({
  earliest: z.nullable(z.string()),
  latest: z.nullable(z.string()),
  latestAgeSeconds: z.nullable(z.number()),
  baseBackups: z.number(),
  segments: z.number(),
  problem: z.nullable(z.string()),
  // Absent from servers from before the slot cap: read as not known.
  heldWalBytes: z._default(z.nullable(z.number()), null),
  maxHeldWalBytes: z._default(z.nullable(z.number()), null),
});

/** The last PITR rehearsal (handlers/pitr/rehearsal-summary.ts); null: none yet. */
export const pitrRehearsalSummary = z.looseObject({
  trusted: z.boolean(),
  rehearsedAt: z.nullable(z.string()),
  point: z.nullable(z.string()),
  passed: z.boolean(),
  tables: z.number(),
  rows: z.number(),
  durationMs: z.nullable(z.number()),
  error: z.nullable(z.string()),
});

export const listAnswer = z.looseObject({
  backups: z.array(listingEntry),
  chain: z.optional(z.looseObject({ problem: z.nullable(z.string()) })),
  audit: z.optional(z.looseObject({ problem: z.nullable(z.string()) })),
  offsite: z.optional(
    z.looseObject({
      location: z.string(),
      error: z.optional(z.string()),
      incomplete: z.array(z.string()),
      foreign: z.array(z.string()),
    }),
  ),
  pitr: z.optional(pitrSummary),
  /** From servers that rehearse restores to a point (continuous protection). */
  pitrRehearsal: z.optional(z.nullable(pitrRehearsalSummary)),
});

export const verifyAnswer = z.looseObject({
  results: z.array(
    z.looseObject({ file: z.string(), state: z.string(), ok: z.boolean(), reason: z.nullable(z.string()) }),
  ),
});

export const rehearseAnswer = z.looseObject({
  file: z.string(),
  tables: z.number(),
  rows: z.number(),
  durationMs: z.number(),
  standby,
});

/** `rehearse --pitr`: the signed record of a passed rehearsal of a restore to a point. */
export const pitrRehearseAnswer = z.looseObject({
  mark: z.looseObject({ at: z.string(), lsn: z.string() }),
  base: z.nullable(z.string()),
  segments: z.number(),
  recoveredRows: z.record(z.string(), z.number()),
  durationMs: z.number(),
});

export const notifyTestAnswer = z.looseObject({
  results: z.array(z.looseObject({ channel: z.string(), ok: z.boolean(), error: z.nullable(z.string()) })),
});

const preview = z.looseObject({
  file: z.string(),
  database: z.string(),
  signedBy: z.nullable(z.string()),
  takenAt: z.string(),
  sizeBytes: z.number(),
  serverVersion: z.nullable(z.string()),
  tables: z.array(
    z.looseObject({
      table: z.string(),
      backupRows: z.nullable(z.number()),
      liveRows: z.nullable(z.number()),
    }),
  ),
  rowsUnknown: z.nullable(z.string()),
});

export const restoreAnswer = z.looseObject({
  path: z.string(),
  dryRun: z.boolean(),
  source: z.optional(z.looseObject({ via: z.enum(['standby', 'file']), reason: z.string() })), // with rehearsals
  /** A dry run of a backup that is only in the store. */
  offsite: z.optional(
    z.looseObject({ location: z.string(), bucket: z.string(), key: z.string(), directory: z.string() }),
  ),
  /** A dry run: what would be restored, against the live database (from servers that send it). */
  preview: z.optional(preview),
  /** A dry run: how the dump would load here (the role, the grants it would skip), said in one sentence. */
  load: z.optional(z.looseObject({ summary: z.string() })),
});

export const pointAnswer = z.looseObject({
  target: z.string(),
  dryRun: z.boolean(),
  base: z.string(),
  segments: z.number(),
  download: z.optional(
    z.nullable(z.looseObject({ location: z.string(), files: z.number(), bytes: z.number() })),
  ),
});

const severity = z.enum(['info', 'warning', 'critical']);

export const statusAnswer = z.looseObject({
  database: z.string(),
  overall: z.union([severity, z.literal('ok'), z.literal('no task')]),
  task: z.nullable(z.looseObject({})),
  lastGoodBackup: z.nullable(z.looseObject({ file: z.string(), takenAt: z.string(), stale: z.boolean() })),
  lastRehearsal: z.nullable(
    z.looseObject({ file: z.string(), at: z.string(), passed: z.boolean(), error: z.nullable(z.string()) }),
  ),
  offsite: z.nullable(
    z.looseObject({
      location: z.string(),
      newestConfirmedAt: z.nullable(z.string()),
      read: z.boolean(),
      lastCopy: z.nullable(z.looseObject({ ok: z.boolean(), failure: z.nullable(z.string()) })),
    }),
  ),
  nextRun: z.nullable(z.looseObject({ at: z.string(), due: z.boolean(), running: z.boolean() })),
  problems: z.array(z.looseObject({ kind: z.string(), severity, since: z.string(), reason: z.string() })),
});

export const operationAnswer = z.looseObject({
  id: z.string(),
  location: z.string(),
  kind: z.string(),
  /** What was asked ({file, dryRun} for a restore). */
  params: z.optional(z.record(z.string(), z.unknown())),
  state: z.enum(['running', 'succeeded', 'failed']),
  phase: z.string(),
  bytesDone: z.nullable(z.number()),
  bytesTotal: z.nullable(z.number()),
  startedAt: z.string(),
  finishedAt: z.nullable(z.string()),
  user: z.nullable(z.string()),
  result: z.nullable(z.looseObject({ status: z.number(), body: z.unknown() })),
});

export const operationsAnswer = z.looseObject({ operations: z.array(operationAnswer) });
