// Polls the server during a restore: GET /metrics (503 only while the database is swapped) and a POST that the
// maintenance gate refuses in both restore phases, to time the swap window and the read-only window apart.
import http from 'node:http';
import { performance } from 'node:perf_hooks';

interface Poll {
  sentAt: number;
  doneAt: number;
  status: number; // 0: no answer (connection refused or reset)
}

export interface ProbeReport {
  /** Total time GET /metrics answered 503 (or not at all): the swap window, when only /health answers. */
  unavailableMs: number;
  /** Total time the write probe answered 503: the read-only scratch phase plus the swap window. */
  writesRefusedMs: number;
  /** When each window started and ended, in ms after the probes started (null: never seen). */
  readOnlyFromMs: number | null;
  unavailableFromMs: number | null;
  unavailableToMs: number | null;
  writesRefusedToMs: number | null;
  /** Slowest answer to a GET probe: a stalled event loop shows here, not as a 503. */
  maxReadLatencyMs: number;
  polls: number;
  failedPolls: number;
}

// A route that does not exist: answered 404 normally, so the probe changes nothing; 503 while writes are refused.
export const WRITE_PROBE_PATH = '/bench-write-probe';

function request(agent: http.Agent, url: URL, method: string): Promise<number> {
  return new Promise((resolve) => {
    const req = http.request(url, { method, agent, headers: { 'content-length': '0' } }, (res) => {
      res.resume();
      res.once('end', () => resolve(res.statusCode ?? 0));
      res.once('error', () => resolve(0));
    });
    req.once('error', () => resolve(0));
    req.setTimeout(10_000, () => req.destroy());
    req.end();
  });
}

function pollLoop(baseUrl: string, path: string, method: string, intervalMs: number, origin: number) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const url = new URL(path, baseUrl);
  const polls: Poll[] = [];
  let running = true;
  const done = (async () => {
    while (running) {
      const sentAt = performance.now() - origin;
      const status = await request(agent, url, method);
      polls.push({ sentAt, doneAt: performance.now() - origin, status });
      await new Promise((r) => setTimeout(r, intervalMs));
    }
    agent.destroy();
  })();
  return {
    polls,
    stop: async () => {
      running = false;
      await done;
    },
  };
}

/** Sum of [sent_i, sent_i+1) over the polls that matched: each poll stands for the time until the next one. */
function windowOf(polls: Poll[], matches: (p: Poll) => boolean) {
  let total = 0;
  let from: number | null = null;
  let to: number | null = null;
  polls.forEach((poll, i) => {
    if (!matches(poll)) return;
    const end = polls[i + 1]?.sentAt ?? poll.doneAt;
    total += end - poll.sentAt;
    from ??= poll.sentAt;
    to = end;
  });
  return { total, from, to };
}

export function startProbes(baseUrl: string, intervalMs: number): { stop(): Promise<ProbeReport> } {
  const origin = performance.now();
  const reads = pollLoop(baseUrl, '/metrics', 'GET', intervalMs, origin);
  const writes = pollLoop(baseUrl, WRITE_PROBE_PATH, 'POST', intervalMs, origin);
  return {
    async stop() {
      await Promise.all([reads.stop(), writes.stop()]);
      const down = windowOf(reads.polls, (p) => p.status === 503 || p.status === 0);
      const refused = windowOf(writes.polls, (p) => p.status === 503 || p.status === 0);
      const all = [...reads.polls, ...writes.polls];
      return {
        unavailableMs: down.total,
        writesRefusedMs: refused.total,
        readOnlyFromMs: refused.from,
        unavailableFromMs: down.from,
        unavailableToMs: down.to,
        writesRefusedToMs: refused.to,
        maxReadLatencyMs: Math.max(0, ...reads.polls.map((p) => p.doneAt - p.sentAt)),
        polls: all.length,
        failedPolls: all.filter((p) => p.status === 0).length,
      };
    },
  };
}
