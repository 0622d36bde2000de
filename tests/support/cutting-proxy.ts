// A TCP proxy that cuts every connection idle for longer than a limit, as reverse proxies and load balancers do.
import { createServer, Socket, type AddressInfo } from 'node:net';

export interface CuttingProxy {
  url: string;
  /** Connections cut for being idle. */
  cuts(): number;
  close(): Promise<void>;
}

export async function startCuttingProxy(
  target: { host: string; port: number },
  idleMs: number,
): Promise<CuttingProxy> {
  let cuts = 0;
  const open = new Set<{ client: Socket; upstream: Socket; last: number }>();
  const server = createServer((client) => {
    const upstream = new Socket();
    const pair = { client, upstream, last: Date.now() };
    open.add(pair);
    const touch = () => (pair.last = Date.now());
    const end = () => {
      open.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('data', touch).on('error', end).on('close', end);
    upstream.on('data', touch).on('error', end).on('close', end);
    upstream.connect(target.port, target.host);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  const sweeper = setInterval(() => {
    const now = Date.now();
    for (const pair of open) {
      if (now - pair.last > idleMs) {
        cuts += 1;
        open.delete(pair);
        pair.client.destroy();
        pair.upstream.destroy();
      }
    }
  }, 100);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    cuts: () => cuts,
    async close() {
      clearInterval(sweeper);
      for (const pair of open) {
        pair.client.destroy();
        pair.upstream.destroy();
      }
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
