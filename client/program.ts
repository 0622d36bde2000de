// Assembles bomnipotent_client: global options and the commands; no logic of its own.
import { Command, Option } from 'commander';
import { APP_VERSION } from '../handlers/version';
import { createContext, type ContextOptions } from './context';
import { CLIENT_LOG_LEVELS, OUTPUT_MODES } from './options';
import { registerHealthCommand } from './commands/health';
import { registerAccountCommands } from './commands/accounts';
import { registerBackupCommands } from './commands/database-backup';

export function buildProgram(contextOptions: ContextOptions = {}): Command {
  const program = new Command('bomnipotent_client')
    .description('Command-line client of a BOMnipotent server')
    .version(APP_VERSION, '-V, --version', 'print the version')
    .option('-d, --domain <url>', 'the server, e.g. https://bomnipotent.example.com or http://127.0.0.1:8080')
    .option('-u, --user <email>', 'the user to sign requests as')
    .option('-s, --secret-key <path>', 'path to the PEM secret key that signs requests')
    .addOption(new Option('-o, --output-mode <mode>', 'what to print').choices(OUTPUT_MODES))
    .addOption(new Option('-l, --log-level <level>', 'how much to print').choices(CLIENT_LOG_LEVELS))
    .option('--log-file <path>', 'append log lines to this file instead of printing them')
    .showHelpAfterError()
    .exitOverride((err) => {
      // commander errors (unknown option, missing argument) already printed themselves
      process.exitCode = err.exitCode;
      throw err;
    });
  const ctx = createContext(program, contextOptions);
  registerHealthCommand(program, ctx);
  registerAccountCommands(program, ctx);
  registerBackupCommands(program, ctx);
  return program;
}
