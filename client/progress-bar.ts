// The progress of a long operation as a bar on stderr (only on a terminal): phase, percent, bytes, rate, times.
import { SingleBar } from 'cli-progress';
import type { OperationView, ProgressView } from './follow-operation';
import type { ClientLogLevel, OutputMode } from './options';
import { formatBytes } from '../handlers/units';

/** Scripts see exactly the old output: no bar off a terminal, in code or raw mode, or below the info level. */
export function wantsProgressBar(mode: OutputMode, level: ClientLogLevel, stderrIsTTY: boolean): boolean {
  return stderrIsTTY && mode === 'normal' && (level === 'info' || level === 'debug' || level === 'trace');
}

const WIDTH = 24;

export function createProgressBar(stream: NodeJS.WritableStream = process.stderr): ProgressView {
  let state: OperationView | null = null;
  const startedAt = Date.now();
  let rate: { at: number; bytes: number; perSecond: number | null } | null = null;
  const bar = new SingleBar({
    stream,
    hideCursor: true,
    clearOnComplete: true,
    fps: 5,
    format: () => (state ? describeLine(state, Date.now() - startedAt, rate?.perSecond ?? null) : ''),
  });
  let running = false;
  return {
    update(operation) {
      if (operation.bytesDone !== null) {
        const now = Date.now();
        if (rate && operation.bytesDone >= rate.bytes && now > rate.at) {
          const current = ((operation.bytesDone - rate.bytes) * 1000) / (now - rate.at);
          // Smoothed, so that one slow poll does not make the estimate jump.
          rate = {
            at: now,
            bytes: operation.bytesDone,
            perSecond: rate.perSecond === null ? current : rate.perSecond * 0.7 + current * 0.3,
          };
        } else if (!rate || operation.bytesDone < rate.bytes) {
          rate = { at: now, bytes: operation.bytesDone, perSecond: null };
        }
      }
      if (state && state.phase !== operation.phase) rate = null;
      state = operation;
      const total = operation.bytesTotal ?? 0;
      const value = Math.min(operation.bytesDone ?? 0, total);
      if (!running) {
        bar.start(Math.max(total, 1), value);
        running = true;
      } else {
        bar.setTotal(Math.max(total, 1));
        bar.update(value);
      }
    },
    stop() {
      if (running) bar.stop();
      running = false;
    },
  };
}

export function describeLine(
  operation: OperationView,
  elapsedMs: number,
  bytesPerSecond: number | null,
): string {
  const { phase, bytesDone, bytesTotal } = operation;
  const parts = [`${operation.kind}: ${phase}`];
  if (bytesDone !== null && bytesTotal !== null && bytesTotal > 0) {
    const fraction = Math.min(1, bytesDone / bytesTotal);
    const filled = Math.round(fraction * WIDTH);
    parts.push(`[${'█'.repeat(filled)}${'░'.repeat(WIDTH - filled)}] ${Math.floor(fraction * 100)}%`);
    parts.push(`${formatSize(bytesDone)} of ${formatSize(bytesTotal)}`);
  } else if (bytesDone !== null) {
    parts.push(formatSize(bytesDone));
  }
  if (bytesPerSecond !== null) parts.push(`${formatSize(bytesPerSecond)}/s`);
  parts.push(`${formatClock(elapsedMs)} elapsed`);
  if (bytesPerSecond && bytesDone !== null && bytesTotal !== null && bytesTotal > bytesDone)
    parts.push(`~${formatClock(((bytesTotal - bytesDone) / bytesPerSecond) * 1000)} left`);
  return parts.join(' | ');
}

export function formatSize(bytes: number): string {
  return formatBytes(bytes, { small: 'B' });
}

function formatClock(ms: number): string {
  const total = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const two = (n: number) => String(n).padStart(2, '0');
  return h > 0 ? `${h}:${two(m)}:${two(s)}` : `${m}:${two(s)}`;
}
