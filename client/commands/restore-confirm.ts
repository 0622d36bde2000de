// Before a real restore typed at a terminal: what would be restored (the dry run's preview: backup, database, key,
// time, size, rows per table against the live ones), then a question that only `yes` answers. The restore that
// follows names the previewed file, so a backup made in between cannot take its place. Scripts, pipes and CI have
// no terminal and are not asked; `--yes` skips the question.
import type { ClientContext, Terminal } from '../context';
import { previewLines } from './restore-preview-lines';
import { ROUTES } from '../../handlers/api/routes';
import { readAnswer } from '../answers';

const baseName = (path: string) => path.slice(path.lastIndexOf('/') + 1);

/** Shows the preview and asks; returns the file to restore, or throws when the answer is not `yes`. */
export async function confirmRestore(
  ctx: ClientContext,
  terminal: Terminal,
  body: Record<string, unknown>,
): Promise<string> {
  const response = await ctx.operation(ROUTES.restoreBackup, { ...body, dryRun: true });
  const answer = readAnswer(ROUTES.restoreBackup, response);
  const file = baseName(answer.offsite ? answer.offsite.key : answer.path);
  const out = ctx.out();
  out.detail('This replaces the whole database with this backup:');
  out.detail(answer.preview ? previewLines(answer.preview) : `Backup:   ${file}`);
  if (answer.offsite) out.detail(`It is only in ${answer.offsite.location} and would be downloaded first.`);
  if (answer.source)
    out.detail(
      `It would be restored from ${answer.source.via === 'standby' ? 'the rehearsed standby database' : 'the file'}: ${answer.source.reason}.`,
    );
  const reply = await terminal.ask(`Replace the database with backup '${file}'? Type yes to go on: `);
  if (reply.trim().toLowerCase() !== 'yes')
    throw new Error(
      'Restore cancelled at the question; nothing was changed. (--yes restores without asking.)',
    );
  return file;
}
