// `database-backup status [<id>]`: the running and recent operations (backups, restores), or one of them.
import type { Command } from 'commander';
import type { ClientContext } from '../context';
import { getPatiently, type OperationView } from '../follow-operation';
import { pathTo, ROUTES } from '../../handlers/api/routes';
import { readAnswer } from '../answers';

export function registerStatusCommand(backupCommand: Command, ctx: ClientContext): void {
  backupCommand
    .command('status')
    .argument('[id]', 'an operation id (as printed by this command)')
    .description('Show the running and recent backup and restore operations, or one of them (admin only)')
    .action(
      ctx.action(async (id: string | undefined) => {
        const out = ctx.out();
        if (id !== undefined) {
          // During a restore's swap the server answers 503 for a moment: asked again, not reported as the state.
          const response = await getPatiently(ctx.api(), pathTo(ROUTES.getOperation.path, { id }), {
            out,
          });
          out.result(response, describeOperation(readAnswer(ROUTES.getOperation, response)));
          return;
        }
        const response = await getPatiently(ctx.api(), ROUTES.listOperations.path, { out });
        const { operations } = readAnswer(ROUTES.listOperations, response);
        out.result(
          response,
          operations.length === 0
            ? 'No backup or restore operations recorded yet.'
            : `Found ${operations.length} operation(s), running ones first, then newest first:`,
        );
        if (operations.length > 0) out.detail(formatOperations(operations));
      }),
    );
}

export function describeOperation(op: OperationView): string {
  const who = op.user ? ` by '${op.user}'` : '';
  const head = `Operation ${op.id} (${kindOf(op)}, started ${utc(op.startedAt)}${who})`;
  if (op.state === 'running') return `${head} is running: ${progressText(op)}.`;
  if (op.state === 'succeeded') return `${head} succeeded at ${utc(op.finishedAt ?? '')}.`;
  const problem = (op.result?.body ?? {}) as { detail?: string };
  return `${head} failed at ${utc(op.finishedAt ?? '')}: ${problem.detail ?? 'no reason recorded'}`;
}

/** A dry run changes nothing: it is marked, so that it is not read as the restore that happened. */
function kindOf(op: OperationView): string {
  return op.params?.dryRun === true ? `${op.kind} (dry run)` : op.kind;
}

function progressText(op: OperationView): string {
  if (op.bytesDone === null) return op.phase;
  if (!op.bytesTotal) return `${op.phase}, ${op.bytesDone} bytes`;
  const percent = Math.min(99, Math.floor((op.bytesDone / op.bytesTotal) * 100));
  return `${op.phase} ${percent}% (${op.bytesDone} of ${op.bytesTotal} bytes)`;
}

function utc(iso: string): string {
  return iso.replace('T', ' ').replace(/\.\d+Z$|Z$/, ' UTC');
}

export function formatOperations(operations: readonly OperationView[]): string {
  const header = ['ID', 'KIND', 'STATE', 'STARTED (UTC)', 'USER', 'PROGRESS'];
  const rows = operations.map((op) => [
    op.id,
    kindOf(op),
    op.state,
    utc(op.startedAt).replace(' UTC', ''),
    op.user ?? '-',
    op.state === 'running' ? progressText(op) : '',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  return [header, ...rows]
    .map((cells) =>
      cells
        .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
