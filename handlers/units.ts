// Human-readable sizes and durations for backup log lines and messages.

const UNITS = ['bytes', 'KB', 'MB', 'GB', 'TB'] as const;

/** How a size is written where it stands: the server's messages, or the client's tables and progress bar. */
export interface ByteStyle {
  /** Below 1 KB: "512 bytes" (the default, in messages) or "512 B" (the client's columns and progress bar). */
  small?: 'bytes' | 'B';
  /** The largest unit: "2048.0 MB" where a view reads in MB (the restore preview); default TB. */
  largest?: 'MB' | 'TB';
}

/** The one byte formatter: 1536 -> "1.5 KB"; binary multiples, as df and du print them. */
export function formatBytes(bytes: number, style: ByteStyle = {}): string {
  const largest = style.largest === 'MB' ? 2 : UNITS.length - 1;
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < largest) {
    value /= 1024;
    unit += 1;
  }
  if (unit > 0) return `${value.toFixed(1)} ${UNITS[unit]}`;
  return style.small === 'B' ? `${Math.round(bytes)} B` : `${bytes} bytes`;
}

/**
 * Megabytes: whole ones rounded up, so that a "needed" figure is never understated ("13 MB"); or, for the size of
 * a copy, to a tenth ("12.3 MB").
 */
export function formatMegabytes(bytes: number, precision: 'whole' | 'tenth' = 'whole'): string {
  const megabytes = bytes / (1024 * 1024);
  return precision === 'tenth' ? `${megabytes.toFixed(1)} MB` : `${Math.ceil(megabytes)} MB`;
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
