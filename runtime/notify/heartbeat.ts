// The outside monitor's push, so that a dead server is noticed: healthchecks.io style (<url>/start, <url>,
// <url>/fail with the reason as the body) or Uptime Kuma's push URL (/api/push/<token>?status=up|down&msg=...).
import { formatDuration } from '../../handlers/units';

export type HeartbeatState = 'start' | 'success' | 'fail';

const TIMEOUT_MS = 10_000;

/** The request for a state, or null when the monitor has no such signal (Uptime Kuma knows no "start"). */
export function heartbeatRequest(
  url: string,
  state: HeartbeatState,
  reason: string | null,
): { url: string; body: string } | null {
  const parsed = new URL(url);
  if (parsed.pathname.includes('/api/push/')) {
    if (state === 'start') return null;
    parsed.searchParams.set('status', state === 'success' ? 'up' : 'down');
    parsed.searchParams.set('msg', state === 'success' ? 'OK' : (reason ?? 'failed').slice(0, 200));
    return { url: parsed.toString(), body: '' };
  }
  const base = url.replace(/\/+$/, '');
  if (state === 'success') return { url: base, body: '' };
  return { url: `${base}/${state}`, body: state === 'fail' ? (reason ?? 'failed') : '' };
}

/** Throws a line naming the host only (the URL's path is the monitor's token). */
export async function pingHeartbeat(
  url: string,
  state: HeartbeatState,
  reason: string | null,
): Promise<void> {
  const request = heartbeatRequest(url, state, reason);
  if (!request) return;
  const host = new URL(url).host;
  let response: Response;
  try {
    response = await fetch(request.url, {
      method: 'POST',
      body: request.body,
      headers: { 'content-type': 'text/plain; charset=utf-8' },
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
  } catch (error) {
    const name = error instanceof Error ? error.name : '';
    throw new Error(
      name === 'TimeoutError'
        ? `${host} did not answer within ${formatDuration(TIMEOUT_MS)}`
        : `could not reach ${host}`,
    );
  }
  await response.body?.cancel().catch(() => {});
  if (!response.ok) throw new Error(`${host} answered HTTP ${response.status}`);
}
