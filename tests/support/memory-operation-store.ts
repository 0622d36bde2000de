// An OperationStore in memory, for handler tests of the operation runner (the real one is tested against PostgreSQL).
import type { OperationRecord } from '../../handlers/operations/model';
import type { OperationStore } from '../../handlers/ports/operation-store';

export function memoryOperationStore(): OperationStore & { records: Map<string, OperationRecord> } {
  const records = new Map<string, OperationRecord>();
  const copy = (r: OperationRecord) => ({ ...r, params: { ...r.params } });
  return {
    records,
    async insert(record) {
      for (const r of records.values()) {
        if (
          record.idempotencyKey !== null &&
          r.idempotencyKey === record.idempotencyKey &&
          r.user === record.user
        )
          return false;
      }
      records.set(record.id, copy(record));
      return true;
    },
    async save(record) {
      records.set(record.id, copy(record));
    },
    async get(id) {
      const r = records.get(id);
      return r ? copy(r) : null;
    },
    async findByIdempotencyKey(user, key) {
      const r = [...records.values()].find((x) => x.user === user && x.idempotencyKey === key);
      return r ? copy(r) : null;
    },
    async running(kind) {
      return [...records.values()].filter((r) => r.kind === kind && r.state === 'running').map(copy);
    },
    async recent(limit) {
      return [...records.values()]
        .sort(
          (a, b) =>
            Number(b.state === 'running') - Number(a.state === 'running') ||
            b.startedAt.localeCompare(a.startedAt),
        )
        .slice(0, limit)
        .map(copy);
    },
    async failStale(before, finishedAt, outcome) {
      const failed: OperationRecord[] = [];
      for (const r of records.values()) {
        if (r.state === 'running' && Date.parse(r.updatedAt) < before.getTime()) {
          Object.assign(r, {
            state: 'failed',
            finishedAt: finishedAt.toISOString(),
            updatedAt: finishedAt.toISOString(),
            outcome,
          });
          failed.push(copy(r));
        }
      }
      return failed;
    },
  };
}
