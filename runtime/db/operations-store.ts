// OperationStore on the operations table; old finished operations are pruned as new ones start.
import type { OperationOutcome, OperationRecord } from '../../handlers/operations/model';
import type { OperationStore } from '../../handlers/ports/operation-store';
import type { DbHandle } from './handle';

const KEEP_FINISHED_DAYS = 30;

interface Row {
  id: string;
  kind: OperationRecord['kind'];
  params: Record<string, unknown>;
  user_name: string | null;
  idempotency_key: string | null;
  state: OperationRecord['state'];
  phase: string;
  bytes_done: string | null;
  bytes_total: string | null;
  started_at: Date;
  updated_at: Date;
  finished_at: Date | null;
  owner: string;
  outcome_status: number | null;
  outcome_body: string | null;
}

const COLUMNS = `id, kind, params, user_name, idempotency_key, state, phase, bytes_done, bytes_total,
  started_at, updated_at, finished_at, owner, outcome_status, outcome_body`;

function toRecord(row: Row): OperationRecord {
  return {
    id: row.id,
    kind: row.kind,
    params: row.params,
    user: row.user_name,
    idempotencyKey: row.idempotency_key,
    state: row.state,
    phase: row.phase,
    bytesDone: row.bytes_done === null ? null : Number(row.bytes_done),
    bytesTotal: row.bytes_total === null ? null : Number(row.bytes_total),
    startedAt: row.started_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
    finishedAt: row.finished_at?.toISOString() ?? null,
    owner: row.owner,
    outcome:
      row.outcome_status === null || row.outcome_body === null
        ? null
        : { status: row.outcome_status, body: row.outcome_body },
  };
}

function values(r: OperationRecord): unknown[] {
  return [
    r.id,
    r.kind,
    JSON.stringify(r.params),
    r.user,
    r.idempotencyKey,
    r.state,
    r.phase,
    r.bytesDone,
    r.bytesTotal,
    r.startedAt,
    r.updatedAt,
    r.finishedAt,
    r.owner,
    r.outcome?.status ?? null,
    r.outcome?.body ?? null,
  ];
}

const PLACEHOLDERS = Array.from({ length: 15 }, (_, i) => `$${i + 1}`).join(', ');

/**
 * Operation records are written also while a restore holds the database read-only (the restore records its own
 * progress there); the restore carries the table over into the restored database, so none of them is lost.
 */
export function createOperationStore(db: DbHandle): OperationStore {
  const write = (sql: string, params?: unknown[]) =>
    db.writeThroughReadOnly((client) => client.query<Row>(sql, params));
  return {
    async insert(record) {
      await write(
        `DELETE FROM operations WHERE state <> 'running' AND finished_at < now() - interval '${KEEP_FINISHED_DAYS} days'`,
      );
      const result = await write(
        `INSERT INTO operations (${COLUMNS}) VALUES (${PLACEHOLDERS}) ON CONFLICT DO NOTHING`,
        values(record),
      );
      return result.rowCount === 1;
    },
    async save(record) {
      await write(
        `INSERT INTO operations (${COLUMNS}) VALUES (${PLACEHOLDERS})
         ON CONFLICT (id) DO UPDATE SET state = $6, phase = $7, bytes_done = $8, bytes_total = $9,
           updated_at = $11, finished_at = $12, outcome_status = $14, outcome_body = $15`,
        values(record),
      );
    },
    async get(id) {
      const { rows } = await db.query<Row>(`SELECT ${COLUMNS} FROM operations WHERE id = $1`, [id]);
      return rows[0] ? toRecord(rows[0]) : null;
    },
    async findByIdempotencyKey(user, key) {
      const { rows } = await db.query<Row>(
        `SELECT ${COLUMNS} FROM operations WHERE coalesce(user_name, '') = $1 AND idempotency_key = $2`,
        [user ?? '', key],
      );
      return rows[0] ? toRecord(rows[0]) : null;
    },
    async running(kind) {
      const { rows } = await db.query<Row>(
        `SELECT ${COLUMNS} FROM operations WHERE state = 'running' AND kind = $1 ORDER BY started_at DESC`,
        [kind],
      );
      return rows.map(toRecord);
    },
    async recent(limit) {
      const { rows } = await db.query<Row>(
        `SELECT ${COLUMNS} FROM operations ORDER BY (state = 'running') DESC, started_at DESC LIMIT $1`,
        [limit],
      );
      return rows.map(toRecord);
    },
    async failStale(before, finishedAt, outcome: OperationOutcome) {
      const { rows } = await write(
        `UPDATE operations SET state = 'failed', finished_at = $2, updated_at = $2,
           outcome_status = $3, outcome_body = $4
         WHERE state = 'running' AND updated_at < $1 RETURNING ${COLUMNS}`,
        [before, finishedAt, outcome.status, outcome.body],
      );
      return rows.map(toRecord);
    },
  };
}

/** A restore replaces the database: the operations recorded in the old one (the restore's own among them) move over. */
export async function carryOperationsInto(
  db: DbHandle,
  rows: readonly Record<string, unknown>[],
): Promise<void> {
  await db.writeThroughReadOnly(async (client) => {
    await client.query('DELETE FROM operations');
    for (const row of rows) {
      await client.query(
        `INSERT INTO operations SELECT * FROM json_populate_record(NULL::operations, $1::json)`,
        [JSON.stringify(row)],
      );
    }
  });
}
