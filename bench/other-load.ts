// Finds other test or benchmark runs on this machine (they distort the figures), leaving out this run's own ancestors.
import { readdirSync, readFileSync } from 'node:fs';

function ancestors(): Set<number> {
  const found = new Set<number>();
  let pid = process.pid;
  while (pid > 1 && !found.has(pid)) {
    found.add(pid);
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      pid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    } catch {
      break;
    }
  }
  return found;
}

/** Other test runs on this machine distort the figures: say so in the output and the JSON. */
export function otherLoad(): string[] {
  const found: string[] = [];
  const own = ancestors();
  for (const pid of readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
      if (/vitest|pgbench|bench\/run\.ts/.test(cmd) && !own.has(Number(pid)))
        found.push(`${pid} ${cmd.slice(0, 80)}`);
    } catch {
      // gone
    }
  }
  return found;
}
