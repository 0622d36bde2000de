// `database-backup completely-restore [--dry-run] [--file <name> [--allow-unsigned] | --expect-newest <name|seq>] [--allow-no-admin]`: replaces the server's database with a backup.
import type { Command } from 'commander';
import type * as z from 'zod/mini';
import type { ClientContext } from '../context';
import { parseTarget, pointLine } from './restore-to-point';
import { confirmRestore } from './restore-confirm';
import { previewLines } from './restore-preview-lines';
import { ROUTES } from '../../handlers/api/routes';
import type { restoreAnswer } from '../../handlers/api/backup-answers';
import { readAnswer } from '../answers';

type RestoreAnswer = z.output<typeof restoreAnswer>;

function dryRunLine(answer: RestoreAnswer): string {
  const offsite = answer.offsite;
  if (!offsite)
    return `Dry run: backup '${answer.path}' verifies and would be restored; nothing was changed.`;
  const file = offsite.key.slice(offsite.key.lastIndexOf('/') + 1);
  return (
    `Dry run: backup '${file}' is only in ${offsite.location}; a restore would download it ` +
    `(object '${offsite.key}' in bucket '${offsite.bucket}') into '${offsite.directory}', verify it and restore it; nothing was changed.`
  );
}

export function registerRestoreCommand(backupCommand: Command, ctx: ClientContext): void {
  // No short alias, on purpose: this replaces the whole database.
  backupCommand
    .command('completely-restore')
    .description('Replace the whole database with the latest backup (admin only; destructive)')
    .option('--dry-run', 'verify the backup that would be restored and change nothing')
    .option(
      '--file <name>',
      'restore this backup file (a bare name from `database-backup list`) instead of the latest',
    )
    .option(
      '--to <time>',
      'restore to this point in time (continuous protection), e.g. "2026-12-07 10:14:59" in this machine\'s time zone',
    )
    .option(
      '--allow-unsigned',
      'with --file: restore a file that is not signed by a trusted key (legacy or foreign dump), on purpose',
    )
    .option(
      '--expect-newest <name|sequence>',
      'refuse unless the latest backup is this one (its file name or sequence, from your own record)',
    )
    .option(
      '--allow-no-admin',
      'restore even if no approved admin with a valid key would remain afterwards (then make one with tmp_admin)',
    )
    .option('-y, --yes', 'on a terminal: restore without showing the preview and asking first')
    .action(
      ctx.action(
        async (options: {
          dryRun?: boolean;
          file?: string;
          allowUnsigned?: boolean;
          allowNoAdmin?: boolean;
          expectNewest?: string;
          to?: string;
          yes?: boolean;
        }) => {
          if (options.to !== undefined) return restoreToPointCommand(ctx, options.to, options);
          if (options.allowUnsigned && options.file === undefined)
            throw new Error(
              '--allow-unsigned needs --file <name>: an untrusted file is never chosen as the latest.',
            );
          const body: Record<string, unknown> = {
            ...(options.file === undefined ? {} : { file: options.file }),
            ...(options.dryRun ? { dryRun: true } : {}),
            ...(options.allowUnsigned ? { allowUnsigned: true } : {}),
            ...(options.allowNoAdmin ? { allowNoAdmin: true } : {}),
            ...(options.expectNewest === undefined ? {} : { expectNewest: options.expectNewest }),
          };
          // At a terminal, the admin sees what would be restored and says yes before anything changes.
          const terminal = options.dryRun || options.yes ? null : ctx.terminal();
          if (terminal && ctx.out().mode === 'normal') {
            // The previewed file is named from here on; the dry run already checked --expect-newest against it.
            body.file = await confirmRestore(ctx, terminal, body);
            delete body.expectNewest;
          }
          const response = await ctx.operation(ROUTES.restoreBackup, body);
          const answer = readAnswer(ROUTES.restoreBackup, response);
          ctx
            .out()
            .result(
              response,
              answer.dryRun
                ? dryRunLine(answer)
                : `Successfully restored database from backup '${answer.path}'.`,
            );
          // A dry run always says which path the restore would take; a restore only when it was the standby.
          const source = answer.source;
          if (source && !answer.offsite && (answer.dryRun || source.via === 'standby')) {
            const from = source.via === 'standby' ? 'the rehearsed standby database' : 'the file';
            ctx
              .out()
              .detail(
                `${answer.dryRun ? 'It would be restored' : 'Restored'} from ${from}: ${source.reason}.`,
              );
          }
          if (answer.dryRun && answer.load) ctx.out().detail(answer.load.summary);
          if (answer.dryRun && answer.preview) ctx.out().detail(previewLines(answer.preview));
        },
      ),
    );
}

async function restoreToPointCommand(
  ctx: ClientContext,
  to: string,
  options: { dryRun?: boolean; file?: string; allowUnsigned?: boolean; expectNewest?: string },
): Promise<void> {
  if (options.file !== undefined || options.allowUnsigned || options.expectNewest !== undefined)
    throw new Error(
      '--to restores to a point in time and takes neither --file, --allow-unsigned nor --expect-newest.',
    );
  const body = { to: parseTarget(to), ...(options.dryRun ? { dryRun: true } : {}) };
  const response = await ctx.operation(ROUTES.restoreToPoint, body);
  ctx.out().result(response, pointLine(readAnswer(ROUTES.restoreToPoint, response)));
}
