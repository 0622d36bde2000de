// `completely-restore --to <time>`: the time as the admin writes it, and the lines the client prints for the answer.
import type * as z from 'zod/mini';
import type { pointAnswer } from '../../handlers/api/backup-answers';

export type PointAnswer = z.output<typeof pointAnswer>;

const TIME = /^\d{4}-\d\d-\d\d[T ]\d\d:\d\d(:\d\d(\.\d{1,3})?)?(Z|[+-]\d\d:?\d\d)?$/;

/** "2026-12-07 10:14:59" (this machine's time zone), or with Z or an offset; an ISO 8601 instant in UTC. */
export function parseTarget(text: string): string {
  const trimmed = text.trim();
  const date = TIME.test(trimmed) ? new Date(trimmed.replace(' ', 'T')) : null;
  if (!date || Number.isNaN(date.getTime()))
    throw new Error(
      `--to '${text}' is not a time: write the date and time, for example "2026-12-07 10:14:59" (this machine's time zone) or "2026-12-07T09:14:59Z".`,
    );
  return date.toISOString();
}

export function pointLine(answer: PointAnswer): string {
  const from = `base backup '${answer.base}' and ${answer.segments} WAL segment(s)`;
  const d = answer.download;
  const fetched = (verb: string) =>
    d ? `, ${verb} ${d.files} file(s) (${d.bytes} bytes) from ${d.location}` : '';
  return answer.dryRun
    ? `Dry run: the database can be restored to ${answer.target} from ${from}${fetched('downloading')}; nothing was changed.`
    : `Successfully restored database to ${answer.target} from ${from}${fetched('downloaded')}.`;
}
