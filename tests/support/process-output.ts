// What a child process printed (stdout and stderr together), and waiting for a line to appear in it.
import type { ChildProcess } from 'node:child_process';

export interface ProcessOutput {
  output(): string;
  /** Resolves with the first match; rejects when the process exits first or the time is up, with all it printed. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
}

export function watchOutput(child: ChildProcess): ProcessOutput {
  let out = '';
  const waiters = new Set<() => void>();
  const wake = () => {
    for (const w of waiters) w();
  };
  const onData = (chunk: Buffer) => {
    out += chunk.toString();
    wake();
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  child.once('exit', wake);
  const exited = () => child.exitCode !== null || child.signalCode !== null;
  return {
    output: () => out,
    waitFor(pattern, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const done = () => {
          waiters.delete(check);
          clearTimeout(timer);
        };
        const check = () => {
          const m = out.match(pattern);
          if (m) {
            done();
            resolve(m);
          } else if (exited()) {
            done();
            const how = child.signalCode ?? child.exitCode;
            reject(new Error(`server exited (${how}) before ${String(pattern)}:\n${out}`));
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`timed out waiting for ${String(pattern)}:\n${out}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
  };
}
