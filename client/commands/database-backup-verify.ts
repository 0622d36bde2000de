// `database-backup verify [--file <name>]`: reads backups in full on the server and prints the result per backup.
import type { Command } from 'commander';
import type { ClientContext } from '../context';
import { ROUTES } from '../../handlers/api/routes';
import { callRoute } from '../answers';

export function registerVerifyCommand(backupCommand: Command, ctx: ClientContext): void {
  backupCommand
    .command('verify')
    .description(
      'Read backups in full (checksum, decryption, decompression, dump structure) and print the result per backup (admin only)',
    )
    .option('--file <name>', 'verify only this backup file (a bare name from `database-backup list`)')
    .action(
      ctx.action(async (options: { file?: string }) => {
        const body = options.file === undefined ? {} : { file: options.file };
        const { response, answer } = await callRoute(ctx.api(), ROUTES.verifyBackups, { body });
        const { results } = answer;
        const out = ctx.out();
        const failed = results.filter((r) => !r.ok).length;
        out.result(
          response,
          results.length === 0
            ? 'No database backups on the server to verify.'
            : failed === 0
              ? `All ${results.length} backup(s) verify.`
              : `${failed} of ${results.length} backup(s) do not verify:`,
        );
        for (const r of results)
          out.detail(r.ok ? `✓ ${r.file}` : `✗ ${r.file} (${r.state}): ${r.reason ?? 'fails verification'}`);
        if (failed > 0) process.exitCode = 1;
      }),
    );
}
