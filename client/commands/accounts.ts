// Account commands: user, user-role, who-am-i and session, each in a file of its own.
import type { Command } from 'commander';
import type { ClientContext } from '../context';
import { registerSessionCommands } from './session';
import { registerUserCommands } from './user';
import { registerUserRoleCommands } from './user-role';
import { registerWhoAmICommand } from './who-am-i';

export function registerAccountCommands(program: Command, ctx: ClientContext): void {
  registerUserCommands(program, ctx);
  registerUserRoleCommands(program, ctx);
  registerWhoAmICommand(program, ctx);
  registerSessionCommands(program, ctx);
}
