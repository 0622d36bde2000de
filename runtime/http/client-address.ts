// The client's address for rate limits and logs: the socket's peer, unless that peer is a trusted proxy; then the
// nearest X-Forwarded-For hop that is not a trusted proxy itself (hops further left are the client's own claims).
import { isIP } from 'node:net';
import { createAddressMatcher } from '../config/cidr';

export function clientAddress(
  peer: string,
  forwardedFor: string | undefined,
  trusted: (address: string) => boolean,
): string {
  if (!forwardedFor || !trusted(peer)) return peer;
  const hops = forwardedFor.split(',').map((hop) => hop.trim());
  let current = peer;
  for (let i = hops.length - 1; i >= 0; i -= 1) {
    const hop = hops[i]!;
    // A malformed hop was written by whoever sent it to the last trusted proxy: that proxy's view is what we know.
    if (isIP(hop) === 0) return current;
    current = hop;
    if (!trusted(hop)) return hop;
  }
  return current;
}

/** A resolver that follows config reloads: the matcher is rebuilt when the list changes. */
export function createClientAddressResolver(
  trustedProxies: () => readonly string[],
): (peer: string, forwardedFor: string | undefined) => string {
  let cached: { list: readonly string[]; matcher: (address: string) => boolean } | undefined;
  return (peer, forwardedFor) => {
    const list = trustedProxies();
    if (cached?.list !== list) cached = { list, matcher: createAddressMatcher(list) };
    if (list.length === 0) return peer;
    return clientAddress(peer, forwardedFor, cached.matcher);
  };
}
