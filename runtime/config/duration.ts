// Human-readable durations ("1 day", "3h", "90 min"): parsed strictly, with a unit required, and formatted back.
import parseDuration from 'parse-duration';

const WHOLE = /^\s*(?:\d+(?:\.\d+)?\s*[a-zµ]+\s*)+$/i;
const PART = /\d+(?:\.\d+)?\s*[a-zµ]+/gi;

/**
 * Milliseconds, or null when the text is not a positive duration with a unit on every number.
 * parse-duration alone is too lenient: it reads "5" as 5 ms and skips words it does not know.
 */
export function parseDurationMs(text: string): number | null {
  if (!WHOLE.test(text)) return null;
  let total = 0;
  for (const part of text.match(PART) ?? []) {
    const ms = parseDuration(part);
    if (ms === null || !Number.isFinite(ms)) return null;
    total += ms;
  }
  const rounded = Math.round(total);
  return rounded > 0 ? rounded : null;
}

export function durationHint(text: string, key: string): string {
  return `Invalid duration "${text}" for ${key}: use a number and a unit, for example "1 day", "3h", "90 min".`;
}

const UNITS: [string, number][] = [
  ['d', 86_400_000],
  ['h', 3_600_000],
  ['min', 60_000],
  ['s', 1000],
  ['ms', 1],
];

/** 93_600_000 -> "1d 2h"; for log lines, not for round trips of sub-millisecond precision. */
export function formatDuration(ms: number): string {
  const parts: string[] = [];
  let rest = ms;
  for (const [unit, size] of UNITS) {
    const count = Math.floor(rest / size);
    if (count > 0) parts.push(`${count}${unit}`);
    rest -= count * size;
  }
  return parts.length > 0 ? parts.join(' ') : '0ms';
}
