// A config key holding a duration ("1 day", "90 min"): milliseconds after parsing; issues.ts words a bad one.
import { z } from 'zod';
import { parseDurationMs } from './duration';

/**
 * A duration string turned into milliseconds; a bad one is a custom issue that issues.ts words with the key.
 * `off`: "0" and "off" are also taken, as 0 (a key whose work can be turned off).
 */
export const durationValue = (off = false) =>
  z
    .string({ error: 'must be a duration in quotes, for example "1 day", "3h" or "90 min"' })
    .transform((text, ctx) => {
      if (off && /^\s*(?:0|off)\s*$/i.test(text)) return 0;
      const ms = parseDurationMs(text);
      if (ms === null) {
        ctx.issues.push({
          code: 'custom',
          input: text,
          message: 'invalid duration',
          params: { duration: text },
        });
        return z.NEVER;
      }
      return ms;
    });

export const duration = (fallback: string) => durationValue().prefault(fallback);

/** A duration, or "0" / "off" for 0 ms. */
export const durationOrOff = (fallback: string) => durationValue(true).prefault(fallback);
