// `session login|status|logout`: keep global options in session.toml so that later calls need not repeat them.
import { Argument, type Command } from 'commander';
import type { ClientContext } from '../context';
import type { GlobalOptions } from '../options';
import { formatSession, readSessionData, removeSession, sessionPath, writeSession } from '../session';

export function registerSessionCommands(program: Command, ctx: ClientContext): void {
  const session = program
    .command('session')
    .description('Store global options for later calls, show or remove them');

  session
    .command('login')
    .description('Store the global options given on this call in session.toml')
    .action(
      ctx.action(async () => {
        // Only what this call gives, not the old session merged in: login replaces the session.
        const path = writeSession(program.opts<GlobalOptions>(), ctx.env);
        ctx.out().log('info', `Stored session data in '${path}'.`);
      }),
    );

  session
    .command('status')
    .description('Print the stored session (TOML, or JSON with `json`)')
    .addArgument(new Argument('[format]', 'output format').choices(['toml', 'json']).default('toml'))
    .action(
      ctx.action(async (format: 'toml' | 'json') => {
        const data = readSessionData(ctx.env);
        const out = ctx.out();
        if (!data) return out.log('info', `No session data is stored (no '${sessionPath(ctx.env)}').`);
        const text = formatSession(data, format);
        if (out.mode === 'normal') out.detail(text);
        else out.result({ status: 200, text }, '');
      }),
    );

  session
    .command('logout')
    .description('Remove the stored session')
    .action(
      ctx.action(async () => {
        const path = sessionPath(ctx.env);
        const removed = removeSession(ctx.env);
        ctx.out().log('info', removed ? `Removed session data '${path}'.` : 'No session data was stored.');
      }),
    );
}
