// Human-readable sizes and durations for backup log lines and messages.

const UNITS = ['bytes', 'KB', 'MB', 'GB', 'TB'] as const;

/** 1536 -> "1.5 KB"; binary multiples, as df and du print them. */
export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${bytes} bytes` : `${value.toFixed(1)} ${UNITS[unit]}`;
}

/** Whole megabytes, rounded up so that a "needed" figure is never understated. */
export function formatMegabytes(bytes: number): string {
  return `${Math.ceil(bytes / (1024 * 1024))} MB`;
}

const SPANS: [number, string][] = [
  [86_400_000, 'day'],
  [3_600_000, 'hour'],
  [60_000, 'minute'],
  [1000, 'second'],
];

/** 90_000_000 -> "1 day 1 hour"; below a second -> "250 ms". At most two parts: it is for people, not for parsing. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))} ms`;
  // Seconds with a fraction read better for short dumps: "2.4 seconds".
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} seconds`;
  const parts: string[] = [];
  let rest = ms;
  for (const [size, name] of SPANS) {
    const count = Math.floor(rest / size);
    if (count > 0) {
      parts.push(`${count} ${name}${count === 1 ? '' : 's'}`);
      rest -= count * size;
    }
    if (parts.length === 2) break;
  }
  return parts.join(' ');
}
