// Samples resident memory from /proc: a process's VmRSS every few ms, its VmHWM, and the summed RSS of its descendants.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';

export interface MemoryPeak {
  /** Highest VmRSS seen by sampling, in bytes. */
  peakRssBytes: number;
  /** VmHWM at the end: the kernel's own peak, reset at the start when /proc/<pid>/clear_refs allows it. */
  hwmBytes: number | null;
  hwmReset: boolean;
  /** Highest sum of VmRSS over the process's descendants (pg_dump, psql ... run by it), in bytes. */
  peakChildrenRssBytes: number;
  samples: number;
}

export interface MemorySampler {
  stop(): MemoryPeak;
}

function statusField(pid: number, field: 'VmRSS' | 'VmHWM'): number | null {
  try {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(
      readFileSync(`/proc/${pid}/status`, 'utf8'),
    );
    return match ? Number(match[1]) * 1024 : null;
  } catch {
    return null; // the process has exited
  }
}

/** Parent of each process: /proc/<pid>/task/<tid>/children is not available on every kernel, /proc/<pid>/stat is. */
function parents(): Map<number, number> {
  const map = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // The command name may contain spaces and parentheses: the fields after the last ')' are fixed.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      map.set(Number(entry), ppid);
    } catch {
      // gone between readdir and read
    }
  }
  return map;
}

export function descendantsOf(root: number): number[] {
  const byParent = new Map<number, number[]>();
  for (const [pid, ppid] of parents()) byParent.set(ppid, [...(byParent.get(ppid) ?? []), pid]);
  const found: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    for (const child of byParent.get(queue.shift()!) ?? []) {
      found.push(child);
      queue.push(child);
    }
  }
  return found;
}

/** Resets VmHWM to the current RSS (Linux 4.0+, needs to own the process or be root). */
function resetHighWaterMark(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

const RESCAN_EVERY = 5; // scanning /proc for descendants costs more than a status read: every 5th sample

export function sampleMemory(pid: number, intervalMs: number): MemorySampler {
  const hwmReset = resetHighWaterMark(pid);
  let peak = 0;
  let peakChildren = 0;
  let samples = 0;
  let children: number[] = [];
  const tick = () => {
    if (samples % RESCAN_EVERY === 0) children = descendantsOf(pid);
    samples += 1;
    peak = Math.max(peak, statusField(pid, 'VmRSS') ?? 0);
    const sum = children.reduce((total, child) => total + (statusField(child, 'VmRSS') ?? 0), 0);
    peakChildren = Math.max(peakChildren, sum);
  };
  tick();
  const timer = setInterval(tick, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      tick();
      return {
        peakRssBytes: peak,
        hwmBytes: statusField(pid, 'VmHWM'),
        hwmReset,
        peakChildrenRssBytes: peakChildren,
        samples,
      };
    },
  };
}

/** The RSS of a short-lived process tree (a raw tool and its children), sampled until stop. */
export function sampleTree(intervalMs: number): { attach(pid: number): void; stop(): number } {
  let root: number | null = null;
  let peak = 0;
  let samples = 0;
  let tree: number[] = [];
  const tick = () => {
    if (root === null) return;
    if (samples % RESCAN_EVERY === 0) tree = [root, ...descendantsOf(root)];
    samples += 1;
    peak = Math.max(
      peak,
      tree.reduce((total, pid) => total + (statusField(pid, 'VmRSS') ?? 0), 0),
    );
  };
  const timer = setInterval(tick, intervalMs);
  return {
    attach(pid) {
      root = pid;
      tick();
    },
    stop() {
      clearInterval(timer);
      return peak;
    },
  };
}
