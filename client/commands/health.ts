// `health`: asks the server whether it is up.
import type { Command } from 'commander';
import type { ClientContext } from '../context';
import { ROUTES } from '../../handlers/api/routes';
import { callRoute } from '../answers';

export function registerHealthCommand(program: Command, ctx: ClientContext): void {
  program
    .command('health')
    .description('Check that the server is up and its database answers')
    .action(
      ctx.action(async () => {
        const { response } = await callRoute(ctx.api(), ROUTES.health);
        ctx.out().result(response, `The service at ${ctx.baseUrl()} is healthy.`);
      }),
    );
}
