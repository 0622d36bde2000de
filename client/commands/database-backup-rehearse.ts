// `database-backup rehearse [--file <name>]`: restores a backup in full into the standby database and checks it.
import type { Command } from 'commander';
import type { ClientContext } from '../context';
import { formatMegabytes } from '../../handlers/units';

interface RehearsalAnswer {
  file: string;
  tables: number;
  rows: number;
  durationMs: number;
  standby: { database: string; sizeBytes: number } | null;
}

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
    .action(
      ctx.action(async (options: { file?: string }) => {
        const body = options.file === undefined ? {} : { file: options.file };
        const response = await ctx.operation('POST', '/database-backup/rehearse', body);
        const r = response.json as RehearsalAnswer;
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
