// Reads the whole request body before anything else runs, within a time limit: a client that trickles its body gets
// 408 and holds nothing (no write slot, no lock) while it sends.
import type { MiddlewareHandler } from 'hono';
import { AppError } from '../../handlers/errors';
import type { AppEnv } from './env';

export function readBodyWithin(timeoutMs: () => number): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (c.req.raw.body) {
      const limit = timeoutMs();
      // Hono caches the body: the signature check and the route read it again from memory.
      const reading = c.req.arrayBuffer();
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<'late'>((resolve) => {
        timer = setTimeout(() => resolve('late'), limit);
      });
      try {
        const outcome = await Promise.race([reading, late]);
        if (outcome === 'late') {
          reading.catch(() => {}); // the connection is closed after the answer; the read then fails
          throw new AppError(
            'REQUEST.BODY_TIMEOUT',
            'timeout',
            `The request body did not arrive within ${limit / 1000} s.`,
            {
              suggestion: 'Send the whole body at once; check the network between the client and the server.',
            },
          );
        }
      } finally {
        clearTimeout(timer);
      }
    }
    await next();
  };
}
