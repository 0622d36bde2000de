// A running operation's answer: 200 and NDJSON, heartbeats while it runs, then the result or the error as the last
// line (protocol.ts). The operation stops when the client goes away or the sidecar shuts down.
import type { Context } from 'hono';
import type { AppError } from '../../handlers/errors';
import type { Logger } from '../../handlers/ports/logger';
import { toAppError as toAppErrorAt, toProblem } from '../http/problem';
import { NDJSON, type SidecarLine } from './protocol';

export type Send = (line: SidecarLine) => void;

export interface StreamOptions {
  logger: Logger;
  heartbeatMs: number;
  shutdownSignal: AbortSignal | undefined;
}

export function streamOperation(
  c: Context,
  what: string,
  run: (signal: AbortSignal, send: Send) => Promise<unknown>,
  options: StreamOptions,
): Response {
  const { logger, heartbeatMs } = options;
  const cancelled = new AbortController();
  const signals = [
    c.req.raw.signal,
    cancelled.signal,
    ...(options.shutdownSignal ? [options.shutdownSignal] : []),
  ];
  const signal = AbortSignal.any(signals);
  const started = Date.now();
  let timer: NodeJS.Timeout | undefined;
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      let open = true;
      const send = (line: SidecarLine) => {
        if (!open) return;
        try {
          controller.enqueue(new TextEncoder().encode(JSON.stringify(line) + '\n'));
        } catch {
          open = false; // the client went away; the abort signal stops the operation
        }
      };
      // The first line goes out at once, so that the client sees the operation accepted.
      send({ heartbeat: true });
      timer = setInterval(() => send({ heartbeat: true }), heartbeatMs);
      logger.debug(`Executor sidecar: ${what} started.`);
      run(signal, send)
        .then(
          (result) => {
            logger.info(`Executor sidecar: ${what} finished in ${Date.now() - started} ms.`);
            send({ result: result ?? null });
          },
          (error: unknown) => {
            const appError = toSidecarError(error, logger);
            logger.warn(`Executor sidecar: ${what} failed: ${appError.code}: ${appError.message}`);
            // Problems on the stream have the same shape as the edge's problem+json answers.
            send({ error: toProblem(appError) });
          },
        )
        .finally(() => {
          clearInterval(timer);
          if (!open) return;
          open = false;
          try {
            controller.close();
          } catch {
            // already closed by a cancel
          }
        });
    },
    cancel() {
      clearInterval(timer);
      cancelled.abort(new Error('The client closed the connection.'));
    },
  });
  return new Response(stream, {
    status: 200,
    headers: { 'content-type': NDJSON, 'cache-control': 'no-store' },
  });
}

export function toSidecarError(error: unknown, logger: Logger): AppError {
  return toAppErrorAt(error, logger, 'EXECUTOR.SIDECAR_INTERNAL', 'The executor sidecar');
}
