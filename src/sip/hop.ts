/** Next-hop selection for requests we send (RFC 3261 8.1.2, without DNS SRV/NAPTR). */
import { getHeaders } from '../wire/sip/headers.js';
import type { SipRequest } from '../wire/sip/message.js';
import { parseNameAddr } from '../wire/sip/name-addr.js';
import { parseUri } from '../wire/sip/uri.js';
import type { Endpoint, TransportName } from './transport-routing.js';

/** Address and transport for a SIP URI: maddr, then host; port default 5060; `;transport=` else `fallback`. */
export function hopFromUri(uriText: string, fallback: TransportName): Endpoint {
  const uri = parseUri(uriText);
  if (uri.scheme !== 'sip') throw new Error(`cannot send to a ${uri.scheme}: URI (only sip: over UDP/TCP)`);
  const t = uri.params.transport?.toLowerCase();
  const transport: TransportName = t === 'tcp' ? 'tcp' : t === 'udp' ? 'udp' : fallback;
  return { transport, address: uri.params.maddr ?? uri.host, port: uri.port ?? 5060 };
}

/**
 * Where a request goes: its first Route (loose or strict, the Request-URI already reflects strict routing),
 * else the outbound proxy, else the Request-URI.
 */
export function nextHop(req: SipRequest, fallback: TransportName, outboundProxy?: string): Endpoint {
  const route = getHeaders(req, 'Route')[0];
  if (route !== undefined) {
    const na = parseNameAddr(route);
    if ('lr' in na.uri.params)
      return hopFromUri(route.slice(route.indexOf('<') + 1, route.indexOf('>')), fallback);
  }
  if (outboundProxy) return hopFromUri(outboundProxy, fallback);
  return hopFromUri(req.uri, fallback);
}
