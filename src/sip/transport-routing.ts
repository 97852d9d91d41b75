/** Where responses go (RFC 3261 18.2.2, RFC 3581) and how incoming requests are stamped with their source. */
import { getHeader, setHeader } from '../wire/sip/headers.js';
import type { SipRequest, SipResponse } from '../wire/sip/message.js';
import { parseVia, serializeVia } from '../wire/sip/via.js';

export type TransportName = 'udp' | 'tcp';

/** A transport-level peer: where a message came from or goes to. */
export interface Endpoint {
  transport: TransportName;
  address: string;
  port: number;
  /** For TCP: the connection a request arrived on, so its responses can reuse it. */
  connectionId?: number;
}

/**
 * Adds `received` (always when rport was asked for, else when sent-by differs from the source) and fills
 * `rport` with the source port when the client sent an empty rport (RFC 3581 4).
 */
export function stampReceived(req: SipRequest, source: Endpoint): void {
  const top = getHeader(req, 'Via');
  if (top === undefined) return;
  const via = parseVia(top);
  const wantsRport = 'rport' in via.params;
  if (wantsRport || via.host !== source.address) via.params.received = source.address;
  if (wantsRport) via.params.rport = String(source.port);
  // Replace only the first Via element.
  const i = req.headers.findIndex((h) => h.name === 'Via');
  if (i >= 0) req.headers[i] = { name: 'Via', value: serializeVia(via) };
  else setHeader(req, 'Via', serializeVia(via));
}

/**
 * Destination of a response from its top Via. Over TCP the request's connection is preferred (the caller
 * passes it in `connectionId`); otherwise maddr, then received + rport, then sent-by.
 */
export function responseDestination(res: SipResponse, connectionId?: number): Endpoint | undefined {
  const top = getHeader(res, 'Via');
  if (top === undefined) return undefined;
  const via = parseVia(top);
  const transport: TransportName = via.transport === 'TCP' ? 'tcp' : 'udp';
  const received = via.params.received ?? undefined;
  const rport = via.params.rport ? Number(via.params.rport) : undefined;
  const port = rport ?? via.port ?? 5060;
  if (transport === 'tcp') {
    // The request's connection first; if it is gone, a new one to received + sent-by port (not rport).
    const ep: Endpoint = { transport, address: received ?? via.host, port: via.port ?? 5060 };
    if (connectionId !== undefined) ep.connectionId = connectionId;
    return ep;
  }
  const maddr = via.params.maddr;
  if (maddr) return { transport, address: maddr, port: via.port ?? 5060 };
  return { transport, address: received ?? via.host, port };
}
