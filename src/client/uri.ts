/**
 * Where an ng proxy listens, written as a URI: `udp://host:port`, `udp:host:port`, `tcp://…`, `ws://…/path`,
 * `http://…/ng`. A bare `host:port` means UDP, as in the rtpengine and Kamailio configuration syntax.
 */
import { isIP } from 'node:net';

/** The transports the ng protocol runs over. */
export type NgTransportKind = 'udp' | 'tcp' | 'ws' | 'http';

/** A parsed proxy address. */
export interface NgEndpoint {
  transport: NgTransportKind;
  /** Host name or IP address (IPv6 without brackets). */
  host: string;
  port: number;
  /** Request path for `ws` and `http` (default `/ng` for HTTP, `/` for WebSocket). */
  path: string;
}

/** rtpengine's conventional ng port. */
export const DEFAULT_NG_PORT = 2223;

const DEFAULT_PORT: Record<NgTransportKind, number> = {
  udp: DEFAULT_NG_PORT,
  tcp: DEFAULT_NG_PORT,
  ws: 80,
  http: 80,
};

/** Thrown for a URI that cannot name an ng proxy. */
export class NgUriError extends TypeError {
  constructor(uri: string, why: string) {
    super(`invalid ng proxy URI '${uri}': ${why}`);
    this.name = 'NgUriError';
  }
}

/**
 * Parses `udp://host:port`, `udp:host:port`, `tcp://`, `ws://`, `http://` (and bare `host:port`, meaning UDP).
 * IPv6 hosts go in brackets: `udp://[::1]:2223`. The port defaults to 2223 for UDP and TCP.
 */
export function parseNgUri(uri: string): NgEndpoint {
  const m = /^(?:([a-z]+):(?:\/\/)?)?(\[[^\]]*\]|[^:/[\]]+)(?::(\d+))?(\/.*)?$/i.exec(uri.trim());
  if (!m) throw new NgUriError(uri, 'expected scheme://host:port');
  const scheme = (m[1] ?? 'udp').toLowerCase();
  const transport = toKind(scheme);
  if (!transport) throw new NgUriError(uri, `unknown scheme '${scheme}' (use udp, tcp, ws or http)`);
  let host = m[2]!;
  if (host.startsWith('[')) {
    host = host.slice(1, -1);
    if (isIP(host) !== 6) throw new NgUriError(uri, 'bracketed host is not an IPv6 address');
  }
  const port = m[3] === undefined ? DEFAULT_PORT[transport] : Number(m[3]);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new NgUriError(uri, 'port out of range');
  const path = m[4] ?? (transport === 'http' ? '/ng' : '/');
  if ((transport === 'udp' || transport === 'tcp') && m[4] !== undefined && m[4] !== '/') {
    throw new NgUriError(uri, `${transport} takes no path`);
  }
  return { transport, host, port, path };
}

function toKind(scheme: string): NgTransportKind | null {
  if (scheme === 'udp' || scheme === 'udp4' || scheme === 'udp6') return 'udp';
  if (scheme === 'tcp') return 'tcp';
  if (scheme === 'ws') return 'ws';
  if (scheme === 'http') return 'http';
  return null;
}

/** Formats an endpoint back to its canonical URI. */
export function formatNgUri(e: NgEndpoint): string {
  const host = isIP(e.host) === 6 ? `[${e.host}]` : e.host;
  const path = e.transport === 'ws' || e.transport === 'http' ? e.path : '';
  return `${e.transport}://${host}:${e.port}${path}`;
}
