// `user-role add|remove <email> <role>`: give or take a role (needs ROLE_MANAGEMENT; the admin role needs an admin).
import type { Command } from 'commander';
import type { ClientContext } from '../context';
import { ROUTES } from '../../handlers/api/routes';
import { callRoute } from '../answers';

export function registerUserRoleCommands(program: Command, ctx: ClientContext): void {
  const userRole = program.command('user-role').description('Give roles to users or take them away');
  userRole
    .command('add')
    .description('Give a role to a user')
    .argument('<email>', 'the user')
    .argument('<role>', 'the role, e.g. user_manager or admin')
    .action(
      ctx.action(async (email: string, role: string) => {
        const { response } = await callRoute(ctx.api(), ROUTES.addRole, {
          params: { user: email },
          body: { role },
        });
        ctx.out().result(response, `Added role '${role}' to user '${email}'.`);
      }),
    );
  userRole
    .command('remove')
    .description('Take a role from a user')
    .argument('<email>', 'the user')
    .argument('<role>', 'the role')
    .action(
      ctx.action(async (email: string, role: string) => {
        const params = { user: email, role };
        const { response } = await callRoute(ctx.api(), ROUTES.removeRole, { params });
        ctx.out().result(response, `Removed role '${role}' from user '${email}'.`);
      }),
    );
}
