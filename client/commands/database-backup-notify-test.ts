// `database-backup notify-test`: the server sends a test message to every [[notify]] channel; one line per channel.
import type { Command } from 'commander';
import type { ClientContext } from '../context';
import { ROUTES } from '../../handlers/api/routes';
import { callRoute } from '../answers';

export function registerNotifyTestCommand(backupCommand: Command, ctx: ClientContext): void {
  backupCommand
    .command('notify-test')
    .description(
      'Send a test message to every [[notify]] channel of the server and print each result (admin only)',
    )
    .action(
      ctx.action(async () => {
        const { response, answer } = await callRoute(ctx.api(), ROUTES.notifyTest, { body: {} });
        const { results } = answer;
        const out = ctx.out();
        const failed = results.filter((r) => !r.ok).length;
        out.result(
          response,
          results.length === 0
            ? 'The server has no [[notify]] channel: see docs/notifications.md.'
            : failed === 0
              ? `All ${results.length} channel(s) took the test message.`
              : `${failed} of ${results.length} channel(s) did not take the test message:`,
        );
        for (const r of results)
          out.detail(r.ok ? `✓ ${r.channel}` : `✗ ${r.channel}: ${r.error ?? 'failed'}`);
        if (failed > 0 || results.length === 0) process.exitCode = 1;
      }),
    );
}
