// The one way to read a request body or a path parameter against a zod schema: a clear 400 naming the problem.
import type { Context } from 'hono';
import type { z } from 'zod';
import { AppError } from '../../handlers/errors';

export interface BodyOptions {
  /** The code of the 400; REQUEST.INVALID unless a service keeps its own (the sidecar's). */
  code?: string;
  /** What the body is, for the message: "request body" unless told. */
  what?: string;
  suggestion?: string;
  /** What an empty body stands for (e.g. {} for optional options); without it an empty body is invalid JSON. */
  whenEmpty?: unknown;
}

function describeIssues(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.length ? i.path.join('.') + ': ' : ''}${i.message}`).join('; ');
}

function invalid(code: string, message: string, suggestion: string | undefined): AppError {
  return new AppError(code, 'invalid', message, suggestion === undefined ? {} : { suggestion });
}

export async function parseBody<S extends z.ZodType>(
  c: Context,
  schema: S,
  options: BodyOptions = {},
): Promise<z.infer<S>> {
  const { code = 'REQUEST.INVALID', what = 'request body', suggestion } = options;
  const text = await c.req.text();
  let json: unknown;
  if (text.trim() === '' && 'whenEmpty' in options) json = options.whenEmpty;
  else {
    try {
      json = JSON.parse(text);
    } catch {
      throw invalid(code, `The ${what} is not valid JSON.`, suggestion);
    }
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw invalid(code, `Invalid ${what}: ${describeIssues(parsed.error)}.`, suggestion);
  return parsed.data;
}

export function parseParam<S extends z.ZodType>(c: Context, name: string, schema: S): z.infer<S> {
  const parsed = schema.safeParse(c.req.param(name));
  if (!parsed.success)
    throw invalid('REQUEST.INVALID', `Invalid ${name}: ${describeIssues(parsed.error)}.`, undefined);
  return parsed.data;
}
