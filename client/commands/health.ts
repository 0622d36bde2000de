// `health`: asks the server whether it is up.
import type { Command } from 'commander';
import type { ClientContext } from '../context';

export function registerHealthCommand(program: Command, ctx: ClientContext): void {
  program
    .command('health')
    .description('Check that the server is up and its database answers')
    .action(
      ctx.action(async () => {
        const response = await ctx.api().request('GET', '/health');
        ctx.out().result(response, `The service at ${ctx.baseUrl()} is healthy.`);
      }),
    );
}
