// The HTTP and HTTPS listeners of bomnipotent_server: bound to the configured addresses, with a time limit on
// receiving a whole request, and raw request-targets checked before the app sees them.
import { readFileSync } from 'node:fs';
import type { Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { serve, type ServerType } from '@hono/node-server';
import type { Config } from '../config/types';
import type { Server } from '../deps';
import { nonCanonicalTarget, pathCanonicalError } from '../http/canonical-path';
import { statusOf, toProblem, PROBLEM_JSON } from '../http/problem';
import type { ServerLogger } from '../observability/logger';
import { startingResponse, type StartGate } from './start-gate';

interface ListenSpec {
  address: string;
  port: number;
  key: 'http_port' | 'https_port';
  tls: { cert: Buffer; key: Buffer } | undefined;
}

/** Plain HTTP only when configured (always without [tls]); HTTPS with [tls]. */
export function listenSpecs(config: Config): ListenSpec[] {
  const specs: ListenSpec[] = [];
  if (config.httpPort !== undefined) {
    specs.push({ address: config.listenAddress, port: config.httpPort, key: 'http_port', tls: undefined });
  }
  if (config.tls) {
    const tls = {
      cert: readFileSync(config.tls.certificateChainPath),
      key: readFileSync(config.tls.secretKeyPath),
    };
    specs.push({ address: config.httpsListenAddress, port: config.httpsPort, key: 'https_port', tls });
  }
  return specs;
}

/**
 * Binds every listener. With a closed start gate they answer 503 until it opens (see start-gate.ts), and
 * `Listening on ...` is logged when it opens: the line that says the server serves.
 */
export async function listen(
  server: Server,
  config: Config,
  logger: ServerLogger,
  gate?: StartGate,
): Promise<ServerType[]> {
  const listeners: ServerType[] = [];
  try {
    for (const spec of listenSpecs(config))
      listeners.push(await listenOn(server, config, spec, logger, gate));
  } catch (error) {
    for (const listener of listeners) listener.close();
    throw error;
  }
  return listeners;
}

/** A request-target that the router would read differently from its raw form is refused before routing. */
function guardedFetch(server: Server, gate: StartGate | undefined) {
  return (request: Request, env: { incoming?: { url?: string } }) => {
    const reason = nonCanonicalTarget(env.incoming?.url ?? new URL(request.url).pathname);
    const starting =
      reason === undefined && gate ? startingResponse(gate, new URL(request.url).pathname) : null;
    if (starting) return starting;
    if (reason === undefined) return server.app.fetch(request, env);
    const problem = toProblem(pathCanonicalError(reason));
    return new Response(JSON.stringify(problem), {
      status: statusOf('invalid'),
      headers: { 'content-type': PROBLEM_JSON },
    });
  };
}

function listenOn(
  server: Server,
  config: Config,
  spec: ListenSpec,
  logger: ServerLogger,
  gate: StartGate | undefined,
): Promise<ServerType> {
  const scheme = spec.tls ? 'https' : 'http';
  return new Promise((resolve, reject) => {
    const listener = serve(
      {
        fetch: guardedFetch(server, gate),
        port: spec.port,
        hostname: spec.address,
        ...(spec.tls ? { createServer: createHttpsServer, serverOptions: spec.tls } : {}),
      },
      (info) => {
        const host = info.address.includes(':') ? `[${info.address}]` : info.address;
        const url = `${scheme}://${host}:${info.port}`;
        if (gate?.reason())
          logger.info(`Bound ${url}; it answers 503 (GET /ready says why) until the server is ready.`);
        const announce = () => logger.info(`Listening on ${url}`);
        if (gate) gate.onOpen(announce);
        else announce();
        resolve(listener);
      },
    );
    // A backstop below the app's own body timeout: Node answers 408 to a request that is not complete by then.
    const node = listener as HttpServer;
    node.requestTimeout = config.dosPrevention.bodyTimeoutMs + 5_000;
    node.headersTimeout = Math.min(node.headersTimeout, config.dosPrevention.bodyTimeoutMs + 5_000);
    listener.once('error', (error: NodeJS.ErrnoException) => {
      const where = `${spec.address}:${spec.port}`;
      reject(
        new Error(
          error.code === 'EADDRINUSE'
            ? `Port ${spec.port} is already in use: stop the other process or set ${spec.key} in the config.`
            : error.code === 'EADDRNOTAVAIL'
              ? `Cannot listen on ${where}: this machine has no such address. Check listen_address in the config.`
              : `Cannot listen on ${where}: ${error.message}. Check ${spec.key} and listen_address in the config.`,
        ),
      );
    });
  });
}
