// Turns zod issues into sentences that name the key (tasks[0].keep) and say what to write instead.
import type { z } from 'zod';
import { durationHint } from './duration';

type RawIssue = Parameters<z.core.$ZodErrorMap>[0];

const EXPECTED: Record<string, string> = {
  string: 'a text in quotes',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  array: 'a list',
  object: 'a table',
  record: 'a table',
};

function describeFound(input: unknown): string {
  // Only the type, never the value: the value may be a secret.
  if (Array.isArray(input)) return 'a list';
  if (input instanceof Date) return 'a date';
  if (typeof input === 'object' && input !== null) return 'a table';
  return typeof input === 'string' ? 'a text' : `a ${typeof input}`;
}

/** Passed to safeParse; schemas with their own message keep it. */
export const configErrorMap: z.core.$ZodErrorMap = (issue: RawIssue) => {
  switch (issue.code) {
    case 'invalid_type':
      if (issue.input === undefined) return 'is required';
      return `must be ${EXPECTED[issue.expected] ?? issue.expected} (found ${describeFound(issue.input)})`;
    case 'too_small':
      if (issue.origin === 'string') return `must be at least ${issue.minimum} characters long`;
      return `must be at least ${issue.inclusive === false ? Number(issue.minimum) + 1 : issue.minimum}`;
    case 'too_big':
      if (issue.origin === 'string') return `must be at most ${issue.maximum} characters long`;
      return `must be at most ${issue.maximum}`;
    case 'invalid_value':
      return `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    default:
      return undefined;
  }
};

/** ['tasks', 0, 'keep'] -> tasks[0].keep */
export function formatKey(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out;
}

export interface IssueContext {
  /** Keys accepted by the table at this path, and how to name that table in a message. */
  acceptedKeys(path: readonly PropertyKey[]): { keys: string[]; table: string };
}

export function describeIssue(issue: z.core.$ZodIssue, context: IssueContext): string {
  const key = formatKey(issue.path);
  if (issue.code === 'unrecognized_keys') {
    const { keys, table } = context.acceptedKeys(issue.path);
    return issue.keys
      .map((unknown) => {
        const hint = closest(unknown, keys);
        const guess = hint ? ` (did you mean "${hint}"?)` : '';
        return `unknown key "${formatKey([...issue.path, unknown])}"${guess}; ${table} accepts: ${keys.join(', ')}`;
      })
      .join('\n');
  }
  if (issue.code === 'custom' && typeof issue.params?.duration === 'string') {
    return durationHint(issue.params.duration, key);
  }
  return key === '' ? issue.message : `${key} ${issue.message}`;
}

/** The accepted key within edit distance 2, if any: most unknown keys are typos. */
function closest(word: string, candidates: string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of candidates) {
    const d = distance(word.toLowerCase(), candidate);
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return best;
}

function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost);
    }
    previous = current;
  }
  return previous[b.length]!;
}
