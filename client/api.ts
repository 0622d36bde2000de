// The client's HTTP access to the server: one fetch per call, signed when a user and a secret key are known.
import { sendRequest, type TransportRequest, type TransportResponse } from './http-transport';
import { signRequest } from './signing';

export interface ApiTarget {
  baseUrl: string; // scheme://host[:port], no trailing slash
  user?: string | undefined;
  secretKeyPem?: string | undefined;
}

export interface ApiResponse {
  status: number;
  text: string;
  json: unknown; // parsed body when it was JSON, else undefined
  headers: Headers;
}

export class ApiError extends Error {
  constructor(
    readonly response: ApiResponse,
    readonly code: string,
    message: string,
    readonly suggestion: string | undefined,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** No answer came back (refused, reset, cut by a proxy): for an idempotent call, worth another try. */
export class UnreachableError extends Error {
  override name = 'UnreachableError';
}

/** https:// (or a domain without a scheme) against a server that speaks plain HTTP: no retry will help. */
export class PlainHttpError extends Error {
  override name = 'PlainHttpError';
}

/** One line for a call that got no answer; OpenSSL's multi-line reasons are not shown to the user. */
function transportError(baseUrl: string, error: unknown): Error {
  const cause = error instanceof Error ? ((error.cause as Error | undefined) ?? error) : undefined;
  const reason = cause?.message ?? String(error);
  const code = (cause as { code?: string } | undefined)?.code ?? '';
  const url = new URL(baseUrl);
  if (
    url.protocol === 'https:' &&
    (/wrong.version.number/i.test(reason) || code === 'ERR_SSL_WRONG_VERSION_NUMBER')
  ) {
    const plain = `http://${url.host}${url.pathname.replace(/\/+$/, '')}`;
    return new PlainHttpError(
      `The server at ${url.host} answered plain HTTP, not HTTPS: use --domain ${plain} (a domain without a scheme means https://).`,
    );
  }
  const line = reason.replace(/\s+/g, ' ').trim();
  return new UnreachableError(
    `Could not reach the server at ${baseUrl}: ${line}. Check --domain and that the server runs.`,
  );
}

/** The URL a user typed for --domain: no scheme means https; http:// is honoured. */
export function normalizeBaseUrl(domain: string): string {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(domain) ? domain : `https://${domain}`;
  const url = new URL(withScheme);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`Unsupported scheme in domain "${domain}": use https:// or http://.`);
  }
  return url.origin + url.pathname.replace(/\/+$/, '');
}

export interface ApiClient {
  /** `headers` are sent besides the signature headers (e.g. Prefer, Idempotency-Key). */
  request(
    method: string,
    pathAndQuery: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<ApiResponse>;
}

/** The response as the commands see it; an error status becomes an ApiError with the server's problem. */
export function toApiResponse(
  status: number,
  statusText: string,
  text: string,
  headers: Headers,
): ApiResponse {
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  const response: ApiResponse = { status, text, json, headers };
  if (status >= 400) {
    const problem = (json ?? {}) as { code?: string; detail?: string; suggestion?: string };
    throw new ApiError(
      response,
      problem.code ?? `HTTP_${status}`,
      problem.detail ?? `The server answered ${status} ${statusText}.`,
      problem.suggestion,
    );
  }
  return response;
}

async function viaFetch(
  fetchImpl: typeof fetch,
  url: string,
  init: TransportRequest,
): Promise<TransportResponse> {
  const res = await fetchImpl(url, init);
  return { status: res.status, statusText: res.statusText, headers: res.headers, text: await res.text() };
}

/** Without fetchImpl the client uses node:http(s) (no limit on how long an answer may take); tests may pass a fetch. */
export function createApiClient(target: ApiTarget, fetchImpl?: typeof fetch): ApiClient {
  return {
    async request(method, pathAndQuery, body, extraHeaders = {}) {
      const text = body === undefined ? '' : JSON.stringify(body);
      const headers: Record<string, string> = { ...extraHeaders, accept: 'application/json' };
      if (body !== undefined) headers['content-type'] = 'application/json';
      if (target.user && target.secretKeyPem) {
        Object.assign(
          headers,
          signRequest({
            method,
            baseUrl: target.baseUrl,
            pathAndQuery,
            user: target.user,
            body: text,
            secretKeyPem: target.secretKeyPem,
          }),
        );
      }
      let res: TransportResponse;
      try {
        const init = { method, headers, ...(body === undefined ? {} : { body: text }) };
        res = fetchImpl
          ? await viaFetch(fetchImpl, target.baseUrl + pathAndQuery, init)
          : await sendRequest(target.baseUrl + pathAndQuery, init);
      } catch (error) {
        throw transportError(target.baseUrl, error);
      }
      return toApiResponse(res.status, res.statusText, res.text, res.headers);
    },
  };
}
