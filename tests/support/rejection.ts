// The AppError a promise rejects with; anything else (or no rejection at all) fails the test.
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
