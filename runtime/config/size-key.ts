// A config key holding a size ("2 GB", "512 MB"): bytes after parsing, binary multiples (1 GB = 1024^3 bytes), as
// PostgreSQL's own size settings count them.
import { z } from 'zod';

const SIZE = /^\s*(\d+(?:\.\d+)?)\s*(bytes|b|kb|mb|gb|tb)\s*$/i;
const FACTOR: Record<string, number> = { bytes: 1, b: 1, kb: 2 ** 10, mb: 2 ** 20, gb: 2 ** 30, tb: 2 ** 40 };

/** Bytes, or null when the text is not a size with a unit. */
export function parseSizeBytes(text: string): number | null {
  const match = SIZE.exec(text);
  if (!match) return null;
  const bytes = Math.round(Number(match[1]) * FACTOR[match[2]!.toLowerCase()]!);
  return Number.isFinite(bytes) ? bytes : null;
}

export const size = (fallback: string, minimumBytes: number, minimumText: string) =>
  z
    .string({ error: 'must be a size in quotes, for example "2 GB" or "512 MB"' })
    .transform((text, ctx) => {
      const bytes = parseSizeBytes(text);
      if (bytes === null || bytes < minimumBytes) {
        ctx.issues.push({
          code: 'custom',
          input: text,
          message:
            bytes === null
              ? `must be a size with a unit, for example "2 GB" or "512 MB" (found "${text}")`
              : `must be at least ${minimumText} (found "${text}")`,
        });
        return z.NEVER;
      }
      return bytes;
    })
    .prefault(fallback);
