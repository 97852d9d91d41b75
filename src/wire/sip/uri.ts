/**
 * SIP, SIPS and tel URIs (RFC 3261 19.1, RFC 3966). Hosts are kept without IPv6 brackets; the serializer
 * puts them back. Other schemes are kept opaque so that a Contact such as `<mailto:...>` still parses.
 */
import { SipParseError } from './errors.js';
import { type SipParams, parseParams, serializeParams } from './params.js';

export interface SipUri {
  /** Lower-cased scheme: 'sip', 'sips', 'tel' or another (then only `opaque` is set). */
  scheme: string;
  /** User part as written (escapes kept), or the tel number. */
  user?: string;
  password?: string;
  /** Host name or address without brackets; '' for tel and opaque URIs. */
  host: string;
  port?: number;
  /** uri-parameters (`;transport=tcp;lr`), names lower-cased. */
  params: SipParams;
  /** Embedded headers (`?subject=x&priority=urgent`), in order. */
  headers: Record<string, string>;
  /** Everything after `scheme:` for schemes that are not sip/sips/tel. */
  opaque?: string;
}

const HOSTNAME = /^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*\.?$/;
const IPV6 = /^[0-9A-Fa-f:.]+$/;
const USER = /^([A-Za-z0-9\-_.!~*'()&=+$,;?/]|%[0-9A-Fa-f]{2})+$/;
const PASSWORD = /^([A-Za-z0-9\-_.!~*'()&=+$,]|%[0-9A-Fa-f]{2})*$/;

/** Parses `host[:port]` where host may be `[v6]`. Used by URIs and Via sent-by. */
export function parseHostPort(s: string): { host: string; port?: number } {
  let host: string;
  let rest: string;
  if (s.startsWith('[')) {
    const end = s.indexOf(']');
    if (end < 0) throw new SipParseError('unterminated IPv6 reference');
    host = s.slice(1, end);
    if (!IPV6.test(host) || !host.includes(':')) throw new SipParseError(`bad IPv6 address '${host}'`);
    rest = s.slice(end + 1);
  } else {
    const colon = s.indexOf(':');
    host = colon < 0 ? s : s.slice(0, colon);
    rest = colon < 0 ? '' : s.slice(colon);
    if (!HOSTNAME.test(host)) throw new SipParseError(`bad host '${host}'`);
  }
  if (rest === '') return { host };
  if (!/^:\d{1,5}$/.test(rest)) throw new SipParseError(`bad port '${rest}'`);
  const port = Number(rest.slice(1));
  if (port > 65535) throw new SipParseError(`bad port '${port}'`);
  return { host, port };
}

/** Formats a host for a URI or Via: IPv6 addresses get brackets. */
export function formatHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

/** Parses a URI; throws SipParseError when it is not one. */
export function parseUri(text: string): SipUri {
  const s = text.trim();
  const colon = s.indexOf(':');
  if (colon <= 0) throw new SipParseError('URI has no scheme');
  const scheme = s.slice(0, colon).toLowerCase();
  if (!/^[a-z][a-z0-9+\-.]*$/.test(scheme)) throw new SipParseError('bad URI scheme');
  const body = s.slice(colon + 1);
  if (body === '' || /[\s<>"]/.test(body)) throw new SipParseError('bad URI');
  if (scheme === 'tel') {
    const semi = body.indexOf(';');
    const user = semi < 0 ? body : body.slice(0, semi);
    if (!/^[+0-9A-Fa-f*#\-.()pw]+$/.test(user)) throw new SipParseError('bad tel number');
    return {
      scheme,
      user,
      host: '',
      params: semi < 0 ? {} : parseParams(body.slice(semi + 1), false),
      headers: {},
    };
  }
  if (scheme !== 'sip' && scheme !== 'sips')
    return { scheme, host: '', params: {}, headers: {}, opaque: body };

  const q = body.indexOf('?');
  const main = q < 0 ? body : body.slice(0, q);
  const headers: Record<string, string> = {};
  if (q >= 0) {
    for (const h of body.slice(q + 1).split('&')) {
      const eq = h.indexOf('=');
      if (eq <= 0) throw new SipParseError('bad URI header');
      headers[h.slice(0, eq)] = h.slice(eq + 1);
    }
  }
  const at = main.lastIndexOf('@');
  const uri: SipUri = { scheme, host: '', params: {}, headers };
  let hostPart = main;
  if (at >= 0) {
    const userinfo = main.slice(0, at);
    hostPart = main.slice(at + 1);
    const pc = userinfo.indexOf(':');
    const user = pc < 0 ? userinfo : userinfo.slice(0, pc);
    if (!USER.test(user)) throw new SipParseError('bad URI user');
    uri.user = user;
    if (pc >= 0) {
      const password = userinfo.slice(pc + 1);
      if (!PASSWORD.test(password)) throw new SipParseError('bad URI password');
      uri.password = password;
    }
  }
  const semi = hostPart.indexOf(';');
  const hp = parseHostPort(semi < 0 ? hostPart : hostPart.slice(0, semi));
  uri.host = hp.host;
  if (hp.port !== undefined) uri.port = hp.port;
  if (semi >= 0) uri.params = parseParams(hostPart.slice(semi + 1), false);
  return uri;
}

/** Serializes a URI. */
export function serializeUri(uri: SipUri): string {
  if (uri.opaque !== undefined) return `${uri.scheme}:${uri.opaque}`;
  if (uri.scheme === 'tel') return `tel:${uri.user ?? ''}${serializeParams(uri.params, false)}`;
  let out = uri.scheme + ':';
  if (uri.user !== undefined) {
    out += uri.user;
    if (uri.password !== undefined) out += ':' + uri.password;
    out += '@';
  }
  out += formatHost(uri.host);
  if (uri.port !== undefined) out += ':' + uri.port;
  out += serializeParams(uri.params, false);
  const hs = Object.entries(uri.headers);
  if (hs.length > 0) out += '?' + hs.map(([k, v]) => `${k}=${v}`).join('&');
  return out;
}
