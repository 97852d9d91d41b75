/**
 * SIP message parser and serializer (RFC 3261 7). A message is plain data: start line, ordered headers with
 * canonical full names (list headers split to one element per entry), and the body bytes.
 */
import { SipParseError } from './errors.js';
import { canonicalHeaderName, isListHeader } from './header-names.js';
import { splitList } from './name-addr.js';
import { isToken } from './params.js';

export interface SipHeader {
  name: string;
  value: string;
}

interface SipMessageBase {
  headers: SipHeader[];
  body: Buffer;
}

export interface SipRequest extends SipMessageBase {
  kind: 'request';
  /** Method as sent (methods are case-sensitive). */
  method: string;
  /** Request-URI text (see parseUri). */
  uri: string;
}

export interface SipResponse extends SipMessageBase {
  kind: 'response';
  status: number;
  reason: string;
}

export type SipMessage = SipRequest | SipResponse;

/** Limits a peer cannot exceed. */
export const SIP_LIMITS = { maxMessage: 64 * 1024, maxHeaders: 200, maxHeaderLine: 8 * 1024 } as const;

export interface ParseOptions {
  /**
   * Datagram semantics (default): without Content-Length the body is the rest of the datagram. With
   * `stream: true` a missing Content-Length means an empty body (RFC 3261 18.3).
   */
  stream?: boolean;
}

const SIP_VERSION = /^SIP\/2\.0$/i;

/** Offset just past the blank line ending the header section, or -1 when it is not there. */
export function findHeaderEnd(buf: Buffer, from = 0): number {
  for (let i = from; i < buf.length - 1; i++) {
    if (buf[i] !== 0x0a) continue;
    if (buf[i + 1] === 0x0a) return i + 2;
    if (buf[i + 1] === 0x0d && buf[i + 2] === 0x0a) return i + 3;
  }
  return -1;
}

/** Number of CR/LF bytes at the start (RFC 3261 7.5: ignored before a start line; also TCP keep-alives). */
export function leadingCrlf(buf: Buffer): number {
  let i = 0;
  while (i < buf.length && (buf[i] === 0x0d || buf[i] === 0x0a)) i++;
  return i;
}

function parseStartLine(line: string): SipRequest | SipResponse {
  if (line.startsWith('SIP/') || line.startsWith('sip/')) {
    const m = /^(\S+) (\d{3}) (.*)$/.exec(line);
    if (!m || !SIP_VERSION.test(m[1]!)) throw new SipParseError('bad status line');
    const status = Number(m[2]);
    if (status < 100 || status > 699) throw new SipParseError('bad status code');
    return { kind: 'response', status, reason: m[3]!, headers: [], body: Buffer.alloc(0) };
  }
  const parts = line.split(' ');
  if (parts.length !== 3) throw new SipParseError('bad request line');
  const [method, uri, version] = parts as [string, string, string];
  if (!isToken(method)) throw new SipParseError('bad method');
  if (!SIP_VERSION.test(version)) throw new SipParseError('unsupported SIP version');
  if (!/^[A-Za-z][A-Za-z0-9+\-.]*:[^\s]+$/.test(uri)) throw new SipParseError('bad Request-URI');
  return { kind: 'request', method, uri, headers: [], body: Buffer.alloc(0) };
}

function parseHeaderLines(lines: string[], msg: SipMessage): void {
  let fields = 0;
  let current: string | undefined;
  const flush = (): void => {
    if (current === undefined) return;
    const colon = current.indexOf(':');
    if (colon <= 0) throw new SipParseError('header line without colon', msg);
    const rawName = current.slice(0, colon).trimEnd();
    if (!isToken(rawName)) throw new SipParseError(`bad header name '${rawName.slice(0, 40)}'`, msg);
    const name = canonicalHeaderName(rawName);
    const value = current.slice(colon + 1).trim();
    if (isListHeader(name)) {
      let elements: string[];
      try {
        elements = splitList(value);
      } catch (e) {
        if (e instanceof SipParseError) throw new SipParseError(`${name}: ${e.reason}`, msg);
        throw e;
      }
      if (elements.length === 0) throw new SipParseError(`empty ${name}`, msg);
      for (const v of elements) msg.headers.push({ name, value: v });
    } else msg.headers.push({ name, value });
    current = undefined;
  };
  for (const line of lines) {
    if (line.length > SIP_LIMITS.maxHeaderLine) throw new SipParseError('header line too long', msg);
    if (line[0] === ' ' || line[0] === '\t') {
      // LWS continuation of a folded header.
      if (current === undefined) throw new SipParseError('continuation line without header', msg);
      current += ' ' + line.trim();
      if (current.length > SIP_LIMITS.maxHeaderLine) throw new SipParseError('header line too long', msg);
      continue;
    }
    flush();
    if (++fields > SIP_LIMITS.maxHeaders) throw new SipParseError('too many headers', msg);
    current = line;
  }
  flush();
}

/** Parses one whole SIP message. Throws only SipParseError. */
export function parseMessage(input: Buffer | Uint8Array | string, options: ParseOptions = {}): SipMessage {
  const buf =
    typeof input === 'string'
      ? Buffer.from(input, 'utf8')
      : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  if (buf.length > SIP_LIMITS.maxMessage) throw new SipParseError('message too large');
  const start = leadingCrlf(buf);
  if (start === buf.length) throw new SipParseError('empty message');
  let end = findHeaderEnd(buf, start);
  // A header section not ended by a blank line (e.g. a bodiless datagram missing the last CRLF) is not SIP.
  if (end < 0) {
    if (buf[buf.length - 1] === 0x0a) end = buf.length;
    else throw new SipParseError('no end of headers');
  }
  const head = buf.toString('utf8', start, end);
  const lines = head.split(/\r?\n/);
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  const first = lines.shift();
  if (first === undefined || first.length > SIP_LIMITS.maxHeaderLine)
    throw new SipParseError('bad start line');
  const msg = parseStartLine(first);
  parseHeaderLines(lines, msg);

  const available = buf.length - end;
  const cls = msg.headers.filter((h) => h.name === 'Content-Length');
  if (cls.length === 0) {
    msg.body = options.stream ? Buffer.alloc(0) : Buffer.from(buf.subarray(end));
    return msg;
  }
  const values = new Set(cls.map((h) => h.value));
  if (values.size > 1) throw new SipParseError('conflicting Content-Length', msg);
  const cl = cls[0]!.value;
  if (!/^\d{1,9}$/.test(cl)) throw new SipParseError('bad Content-Length', msg);
  const length = Number(cl);
  if (length > available) throw new SipParseError('Content-Length larger than body', msg);
  // Bytes past Content-Length are discarded (RFC 3261 18.3).
  msg.body = Buffer.from(buf.subarray(end, end + length));
  return msg;
}

/** Serializes with CRLF line ends and a Content-Length that matches the body (replacing any given). */
export function serializeMessage(msg: SipMessage): Buffer {
  const start =
    msg.kind === 'request'
      ? `${msg.method} ${msg.uri} SIP/2.0\r\n`
      : `SIP/2.0 ${msg.status} ${msg.reason}\r\n`;
  let head = start;
  for (const h of msg.headers) {
    if (h.name === 'Content-Length') continue;
    head += `${h.name}: ${h.value}\r\n`;
  }
  head += `Content-Length: ${msg.body.length}\r\n\r\n`;
  return msg.body.length > 0
    ? Buffer.concat([Buffer.from(head, 'utf8'), msg.body])
    : Buffer.from(head, 'utf8');
}
