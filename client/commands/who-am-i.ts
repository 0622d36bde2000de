// `who-am-i` (alias `whoami`): which user the server takes the signed request for.
import type { Command } from 'commander';
import type { ClientContext } from '../context';
import { ROUTES } from '../../handlers/api/routes';
import { callRoute } from '../answers';

export function registerWhoAmICommand(program: Command, ctx: ClientContext): void {
  program
    .command('who-am-i')
    .alias('whoami')
    .description('Show which user the server treats you as')
    .action(
      ctx.action(async () => {
        const { response, answer } = await callRoute(ctx.api(), ROUTES.whoAmI);
        const { user } = answer;
        ctx.out().result(response, `The server at ${ctx.baseUrl()} treats you as '${user}'.`);
      }),
    );
}
