// `database-backup rehearse [--file <name>]`: restores a backup in full into the standby database and checks it.
// `--pitr`: rehearses a restore to a point instead (continuous protection): the source's rows counted now, recovered
// to that point in a scratch database and compared.
import type { Command } from 'commander';
import type { ClientContext } from '../context';
import { formatMegabytes } from '../../handlers/units';
import { ROUTES } from '../../handlers/api/routes';
import { readAnswer } from '../answers';

export function registerRehearseCommand(backupCommand: Command, ctx: ClientContext): void {
  backupCommand
    .command('rehearse')
    .description(
      'Restore a backup in full into the standby database and check its rows, to prove it restores (admin only)',
    )
    .option(
      '--file <name>',
      'rehearse this backup file (a bare name from `database-backup list`), not the latest',
    )
    .option(
      '--pitr',
      'rehearse a restore to a point instead: count the rows now, recover to that point in a scratch database and compare (continuous = true)',
    )
    .action(
      ctx.action(async (options: { file?: string; pitr?: boolean }) => {
        if (options.pitr === true) return rehearsePitr(ctx, options.file);
        const body = options.file === undefined ? {} : { file: options.file };
        const response = await ctx.operation(ROUTES.rehearseBackup, body);
        const r = readAnswer(ROUTES.rehearseBackup, response);
        const standby = r.standby
          ? ` The standby database '${r.standby.database}' holds it (${formatMegabytes(r.standby.sizeBytes, 'tenth')}).`
          : '';
        ctx
          .out()
          .result(
            response,
            `Rehearsal of '${r.file}' passed: ${r.tables} tables, ${r.rows} rows restored in ${(r.durationMs / 1000).toFixed(1)} s.${standby}`,
          );
      }),
    );
}

async function rehearsePitr(ctx: ClientContext, file: string | undefined): Promise<void> {
  const body = file === undefined ? { pitr: true } : { pitr: true, file };
  const response = await ctx.operation(ROUTES.rehearsePoint, body);
  const r = readAnswer(ROUTES.rehearsePoint, response);
  const rows = Object.values(r.recoveredRows).reduce((a, b) => a + b, 0);
  ctx
    .out()
    .result(
      response,
      `PITR rehearsal passed: restored to ${r.mark.at} (WAL ${r.mark.lsn}) from pitr/${r.base ?? '?'} and ${r.segments} WAL segment(s); ` +
        `${Object.keys(r.recoveredRows).length} tables, ${rows} rows as the source had them, in ${(r.durationMs / 1000).toFixed(1)} s.`,
    );
}
