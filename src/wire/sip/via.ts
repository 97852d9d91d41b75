/** The Via header (RFC 3261 20.42, RFC 3581 rport). */
import { SipParseError } from './errors.js';
import { type SipParams, parseParams, serializeParams } from './params.js';
import { formatHost, parseHostPort } from './uri.js';

export interface Via {
  protocol: string;
  version: string;
  /** Upper-cased transport: UDP, TCP, TLS, SCTP, WS... */
  transport: string;
  host: string;
  port?: number;
  /** branch, received, rport (null when present without value), maddr, ttl... */
  params: SipParams;
}

/** RFC 3261 branch prefix marking a transaction-unique branch. */
export const BRANCH_MAGIC = 'z9hG4bK';

/** Parses one Via element (not a comma-separated list). */
export function parseVia(text: string): Via {
  const m =
    /^\s*([A-Za-z0-9\-.!%*_+`'~]+)\s*\/\s*([A-Za-z0-9\-.!%*_+`'~]+)\s*\/\s*([A-Za-z0-9\-.!%*_+`'~]+)\s+(.*)$/s.exec(
      text,
    );
  if (!m) throw new SipParseError('bad Via');
  const rest = m[4]!.trim();
  const semi = rest.indexOf(';');
  // sent-by may have LWS around ':' (RFC 4475 ideas); remove it.
  const sentBy = (semi < 0 ? rest : rest.slice(0, semi)).replace(/\s*:\s*/g, ':').trim();
  if (/\s/.test(sentBy)) throw new SipParseError('bad Via sent-by');
  const hp = parseHostPort(sentBy);
  const via: Via = {
    protocol: m[1]!.toUpperCase(),
    version: m[2]!,
    transport: m[3]!.toUpperCase(),
    host: hp.host,
    params: semi < 0 ? {} : parseParams(rest.slice(semi + 1), true),
  };
  if (hp.port !== undefined) via.port = hp.port;
  return via;
}

/** Serializes a Via element. */
export function serializeVia(via: Via): string {
  const port = via.port !== undefined ? ':' + via.port : '';
  return `${via.protocol}/${via.version}/${via.transport} ${formatHost(via.host)}${port}${serializeParams(via.params, true)}`;
}

/** `host:port` of the sent-by (port defaulted), used for transaction matching. */
export function viaSentBy(via: Via): string {
  return `${formatHost(via.host.toLowerCase())}:${via.port ?? (via.transport === 'TLS' ? 5061 : 5060)}`;
}
