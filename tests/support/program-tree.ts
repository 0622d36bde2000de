// bomnipotent_client's commands as commander holds them, for the documentation test: every command with its path,
// options and arguments, and a check that an example command line names only commands and options that exist.
import type { Command, Option } from 'commander';

export interface CommandInfo {
  path: string; // "database-backup completely-restore"
  command: Command;
  leaf: boolean;
}

export function listCommands(program: Command): CommandInfo[] {
  const out: CommandInfo[] = [];
  const walk = (command: Command, prefix: string) => {
    for (const sub of command.commands) {
      const path = prefix ? `${prefix} ${sub.name()}` : sub.name();
      out.push({ path, command: sub, leaf: sub.commands.length === 0 });
      walk(sub, path);
    }
  };
  walk(program, '');
  return out;
}

/** How an argument is written in a usage line: <name> when required, [name] when optional. */
export function argumentUsage(command: Command): string[] {
  return command.registeredArguments.map((a) => (a.required ? `<${a.name()}>` : `[${a.name()}]`));
}

const HELP = ['-h', '--help'];
const SHELL_END = ['&&', '||', '|', ';'];
const isPlaceholder = (token: string) => /^[<[]/.test(token) || token.includes('...');

function findOption(command: Command, token: string): Option | undefined {
  const flag = token.split('=')[0];
  return command.options.find((o) => o.long === flag || o.short === flag);
}

/** The words of a command line up to a comment or the next shell command, without the program's name. */
function wordsOf(line: string): string[] {
  const words: string[] = [];
  for (const word of line.trim().split(/\s+/).slice(1)) {
    if (SHELL_END.includes(word) || word.startsWith('#')) break;
    words.push(word);
  }
  return words;
}

/**
 * Problems of one example line ("bomnipotent_client -d https://x -u a database-backup list --offsite"): an unknown
 * command or option. Placeholders (<...>, [...], ...) are accepted where a value, a command or an argument goes.
 */
export function checkExample(program: Command, line: string): string[] {
  const words = wordsOf(line);
  const problems: string[] = [];
  let i = 0;
  const takeOptions = (at: Command) => {
    while (i < words.length && words[i]!.startsWith('-')) {
      const word = words[i]!;
      const option = findOption(at, word);
      if (option === undefined && !HELP.includes(word))
        problems.push(`unknown option ${word} of "${at.name()}"`);
      const takesValue = option !== undefined && (option.required || option.optional) && !word.includes('=');
      i += takesValue ? 2 : 1;
    }
  };
  takeOptions(program);
  let command = program;
  while (i < words.length && command.commands.length > 0) {
    const word = words[i]!;
    if (isPlaceholder(word)) return problems;
    const sub = command.commands.find((c) => c.name() === word || c.aliases().includes(word));
    if (sub === undefined) return [...problems, `unknown command "${word}" under "${command.name()}"`];
    command = sub;
    i += 1;
  }
  if (command !== program && command.commands.length > 0)
    problems.push(`"${command.name()}" needs a command`);
  while (i < words.length) {
    if (words[i]!.startsWith('-')) takeOptions(command);
    else i += 1; // an argument
  }
  return problems;
}
