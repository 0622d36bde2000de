// Runs the client on a real terminal (a pty from util-linux `script`) or off one (plain pipes), as an admin would
// type it or a script would call it. On the terminal, `answer` types a line once the output shows `when`.
import { spawn } from 'node:child_process';

export interface TerminalRun {
  out: string;
  err: string;
  code: number | null;
}

export function runClient(
  command: string[],
  viaTerminal: boolean,
  answer?: { when: string; line: string },
): Promise<TerminalRun> {
  const [file, args] = viaTerminal
    ? ['script', ['-qec', command.map((a) => `'${a}'`).join(' '), '/dev/null']]
    : [command[0] as string, command.slice(1)];
  return new Promise((resolve) => {
    const child = spawn(file, args, {
      env: { ...process.env, XDG_CONFIG_HOME: '/nonexistent-bomnipotent-tty', TERM: 'xterm' },
      stdio: [answer ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    let typed = false;
    const typeOnce = () => {
      if (!answer || typed || !`${out}${err}`.includes(answer.when)) return;
      typed = true;
      child.stdin?.write(`${answer.line}\n`);
    };
    child.stdout!.on('data', (c: Buffer) => ((out += c.toString()), typeOnce()));
    child.stderr!.on('data', (c: Buffer) => ((err += c.toString()), typeOnce()));
    if (answer && !viaTerminal) child.stdin?.end();
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ out, err, code });
    });
  });
}
