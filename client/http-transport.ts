// The client's HTTP transport on node:http(s): unlike fetch, no 300 s limit on the answer's headers, so a restore
// of a large database that takes longer is not reported as failed while the server carries on.
import http from 'node:http';
import https from 'node:https';

export interface TransportRequest {
  method: string;
  headers: Record<string, string>;
  body?: string;
}

export interface TransportResponse {
  status: number;
  statusText: string;
  headers: Headers;
  text: string;
}

export function sendRequest(url: string, init: TransportRequest): Promise<TransportResponse> {
  const target = new URL(url);
  // Looked up at call time (not destructured at import), so that interceptors such as msw in tests see the call.
  const send = target.protocol === 'https:' ? https.request : http.request;
  return new Promise((resolve, reject) => {
    const req = send(target, { method: init.method, headers: init.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const headers = new Headers();
        for (const [key, value] of Object.entries(res.headers)) {
          if (value !== undefined) headers.set(key, Array.isArray(value) ? value.join(', ') : value);
        }
        resolve({
          status: res.statusCode ?? 0,
          statusText: res.statusMessage ?? '',
          headers,
          text: Buffer.concat(chunks).toString('utf8'),
        });
      });
    });
    req.on('error', reject);
    req.setNoDelay(true);
    if (init.body !== undefined) req.write(init.body);
    req.end();
  });
}
