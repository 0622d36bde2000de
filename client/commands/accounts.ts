// Account commands (user request|approve|deny|list, user-role add|remove, who-am-i, session). Owned by the accounts work.
import type { Command } from 'commander';
import type { ClientContext } from '../context';

export function registerAccountCommands(_program: Command, _ctx: ClientContext): void {}
