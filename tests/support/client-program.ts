// Runs bomnipotent_client in-process (for msw and in-process servers), capturing what it prints and its exit code.
import { buildProgram } from '../../client/program';
import type { Terminal } from '../../client/context';

export interface ClientRun {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/** `terminal`: someone answering questions at a terminal (default: nobody, as in a script). */
export async function runClientProgram(
  configHome: string,
  args: string[],
  terminal: Terminal | null = null,
): Promise<ClientRun> {
  const result: ClientRun = { stdout: '', stderr: '', exitCode: 0 };
  const program = buildProgram({
    stdout: (t) => (result.stdout += t),
    stderr: (t) => (result.stderr += t),
    env: { XDG_CONFIG_HOME: configHome },
    setExitCode: (c) => (result.exitCode = c),
    terminal,
  });
  await program.parseAsync(['node', 'bomnipotent_client', ...args]);
  return result;
}
