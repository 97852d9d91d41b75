/** Header access on a parsed message. Names may be given in any spelling or compact form. */
import { SipParseError } from './errors.js';
import { canonicalHeaderName } from './header-names.js';
import type { SipMessage } from './message.js';
import { type NameAddr, parseNameAddr } from './name-addr.js';
import { type Via, parseVia } from './via.js';

/** First value of a header, or undefined. */
export function getHeader(msg: SipMessage, name: string): string | undefined {
  const n = canonicalHeaderName(name);
  return msg.headers.find((h) => h.name === n)?.value;
}

/** All values of a header in order (list headers are already one element per value). */
export function getHeaders(msg: SipMessage, name: string): string[] {
  const n = canonicalHeaderName(name);
  return msg.headers.filter((h) => h.name === n).map((h) => h.value);
}

/** Replaces every value of a header by one value, keeping the position of the first. */
export function setHeader(msg: SipMessage, name: string, value: string): void {
  const n = canonicalHeaderName(name);
  const i = msg.headers.findIndex((h) => h.name === n);
  msg.headers = msg.headers.filter((h) => h.name !== n);
  msg.headers.splice(i < 0 ? msg.headers.length : i, 0, { name: n, value });
}

/** Appends a header value (after the existing ones of the same name when `top` is false). */
export function addHeader(msg: SipMessage, name: string, value: string, top = false): void {
  const h = { name: canonicalHeaderName(name), value };
  if (top) msg.headers.unshift(h);
  else msg.headers.push(h);
}

/** Removes every value of a header. */
export function removeHeader(msg: SipMessage, name: string): void {
  const n = canonicalHeaderName(name);
  msg.headers = msg.headers.filter((h) => h.name !== n);
}

export interface CSeq {
  seq: number;
  method: string;
}

export function parseCSeq(value: string): CSeq {
  const m = /^(\d{1,10})\s+([A-Za-z0-9\-.!%*_+`'~]+)$/.exec(value.trim());
  if (!m) throw new SipParseError('bad CSeq');
  const seq = Number(m[1]);
  if (seq >= 2 ** 31) throw new SipParseError('CSeq number too large');
  return { seq, method: m[2]! };
}

/** Parsed top Via; throws SipParseError when absent or malformed. */
export function topVia(msg: SipMessage): Via {
  const v = getHeader(msg, 'Via');
  if (v === undefined) throw new SipParseError('missing Via');
  return parseVia(v);
}

/** Parsed From/To/Contact-style header; throws SipParseError when absent or malformed. */
export function nameAddrHeader(msg: SipMessage, name: string): NameAddr {
  const v = getHeader(msg, name);
  if (v === undefined) throw new SipParseError(`missing ${canonicalHeaderName(name)}`);
  return parseNameAddr(v);
}

/** Parsed CSeq; throws SipParseError when absent or malformed. */
export function cseqOf(msg: SipMessage): CSeq {
  const v = getHeader(msg, 'CSeq');
  if (v === undefined) throw new SipParseError('missing CSeq');
  return parseCSeq(v);
}

/** Call-ID; throws SipParseError when absent or empty. */
export function callIdOf(msg: SipMessage): string {
  const v = getHeader(msg, 'Call-ID');
  if (v === undefined || v === '') throw new SipParseError('missing Call-ID');
  if (/\s/.test(v)) throw new SipParseError('bad Call-ID');
  return v;
}

/**
 * Checks what every request/response must carry (RFC 3261 8.1.1): Via, From, To, Call-ID, CSeq (with the
 * request's method), Max-Forwards digits when present. Returns the reason for a 400, or undefined.
 */
export function validateMessage(msg: SipMessage): string | undefined {
  try {
    topVia(msg);
    for (const v of getHeaders(msg, 'Via')) parseVia(v);
    nameAddrHeader(msg, 'From');
    nameAddrHeader(msg, 'To');
    callIdOf(msg);
    const cseq = cseqOf(msg);
    if (msg.kind === 'request') {
      if (cseq.method !== msg.method) return 'CSeq method does not match the request';
      const mf = getHeader(msg, 'Max-Forwards');
      if (mf !== undefined && !/^\d{1,3}$/.test(mf)) return 'bad Max-Forwards';
    }
    if (getHeaders(msg, 'Call-ID').length > 1) return 'more than one Call-ID';
    return undefined;
  } catch (e) {
    if (e instanceof SipParseError) return e.reason;
    throw e;
  }
}
