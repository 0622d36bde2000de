// The AppError a promise rejects with; anything else (or no rejection at all) fails the test.
import { expect } from 'vitest';
import { isAppError, type AppError } from '../../handlers/errors';

export async function rejection(promise: Promise<unknown>): Promise<AppError> {
  try {
    await promise;
  } catch (error) {
    if (isAppError(error)) return error;
    throw error;
  }
  throw new Error('expected a rejection with an AppError');
}

/** Its code and message, as the restore and store tests compare them. */
export async function failureOf(promise: Promise<unknown>): Promise<{ code: string; message: string }> {
  const { code, message } = await rejection(promise);
  return { code, message };
}

/** The error `run` throws, which must be a `kind`; no throw at all fails the test. */
export function thrown<E extends Error>(run: () => unknown, kind: abstract new (...args: never[]) => E): E {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(kind);
    return error as E;
  }
  throw new Error(`expected a ${kind.name}`);
}
