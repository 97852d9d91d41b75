/**
 * ng message framing: `<cookie> <dict>`, the dict in bencode or JSON. The same framing is used over UDP
 * (one message per datagram) and TCP (messages back to back; the end of a message is the end of its dict).
 */
import { type BDict, type BValue, BencodeError, bencodeDecodePrefix, bencodeEncode } from './bencode.js';

export interface NgMessage {
  cookie: string;
  body: BDict;
  /** The body was JSON; replies go back as JSON too. */
  json: boolean;
}

/** Largest message accepted on a stream transport before its end is found. */
export const MAX_NG_MESSAGE = 1024 * 1024;
const MAX_COOKIE = 256;

export class NgFramingError extends Error {
  constructor(
    message: string,
    /** The cookie, when it could be read: an error reply can then be sent. */
    readonly cookie?: string,
  ) {
    super(message);
    this.name = 'NgFramingError';
  }
}

function findCookie(buf: Buffer): { cookie: string; bodyStart: number } | null {
  const limit = Math.min(buf.length, MAX_COOKIE + 1);
  for (let i = 0; i < limit; i++) {
    if (buf[i] === 0x20) {
      if (i === 0) throw new NgFramingError('empty cookie');
      return { cookie: buf.toString('latin1', 0, i), bodyStart: i + 1 };
    }
  }
  if (buf.length > MAX_COOKIE)
    throw new NgFramingError('no cookie: message has no space in its first 256 bytes');
  return null;
}

/** Parses one whole datagram. Throws NgFramingError (with the cookie when known) on malformed input. */
export function parseNgMessage(buf: Buffer): NgMessage {
  const found = findCookie(buf);
  if (!found) throw new NgFramingError('no cookie: message has no space');
  const { cookie, bodyStart } = found;
  let p = bodyStart;
  while (buf[p] === 0x20) p++;
  if (p >= buf.length) throw new NgFramingError('empty message body', cookie);
  if (buf[p] === 0x7b) return { cookie, body: parseJsonBody(buf.subarray(p), cookie), json: true };
  if (buf[p] !== 0x64) throw new NgFramingError('message body is not a dictionary', cookie);
  try {
    const r = bencodeDecodePrefix(buf, p);
    let end = r.end;
    while (end < buf.length && isSpace(buf[end]!)) end++;
    if (end !== buf.length) throw new NgFramingError('trailing bytes after dictionary', cookie);
    return { cookie, body: r.value as BDict, json: false };
  } catch (e) {
    if (e instanceof BencodeError)
      throw new NgFramingError(`bencode: ${e.message} at byte ${e.offset}`, cookie);
    throw e;
  }
}

function isSpace(b: number): boolean {
  return b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;
}

function parseJsonBody(bytes: Buffer, cookie: string): BDict {
  let v: unknown;
  try {
    v = JSON.parse(bytes.toString('utf8'));
  } catch (e) {
    throw new NgFramingError(`JSON: ${(e as Error).message}`, cookie);
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    throw new NgFramingError('message body is not a dictionary', cookie);
  }
  return fromJson(v, 0) as BDict;
}

/** JSON to the bencode value space: booleans become "yes"/"no", nulls are dropped. */
function fromJson(v: unknown, depth: number): BValue | undefined {
  if (depth > 32) throw new NgFramingError('nesting too deep');
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return Number.isFinite(v) ? Math.trunc(v) : undefined;
  if (typeof v === 'boolean') return v ? 'yes' : 'no';
  if (Array.isArray(v)) {
    const out: BValue[] = [];
    for (const x of v) {
      const c = fromJson(x, depth + 1);
      if (c !== undefined) out.push(c);
    }
    return out;
  }
  if (v !== null && typeof v === 'object') {
    const out = Object.create(null) as BDict;
    for (const [k, x] of Object.entries(v)) {
      const c = fromJson(x, depth + 1);
      if (c !== undefined) out[k] = c;
    }
    return out;
  }
  return undefined;
}

export function formatNgMessage(cookie: string, body: BDict, json = false): Buffer {
  const head = Buffer.from(`${cookie} `, 'latin1');
  if (json) return Buffer.concat([head, Buffer.from(JSON.stringify(body), 'utf8')]);
  return Buffer.concat([head, bencodeEncode(body)]);
}

/**
 * Takes the first complete message off a stream buffer. Returns null when more bytes are needed; throws
 * NgFramingError when the bytes cannot become a message (the stream should then be closed).
 */
export function takeNgStreamMessage(buf: Buffer): { message: NgMessage; consumed: number } | null {
  let s = 0;
  while (s < buf.length && isSpace(buf[s]!)) s++;
  if (s === buf.length) return null;
  const rest = s === 0 ? buf : buf.subarray(s);
  const found = findCookie(rest);
  if (!found) return null;
  const { cookie, bodyStart } = found;
  if (rest[bodyStart] === undefined) return null;
  if (rest[bodyStart] === 0x7b) return takeJson(rest, bodyStart, cookie, s);
  if (rest[bodyStart] !== 0x64) throw new NgFramingError('message body is not a dictionary', cookie);
  try {
    const r = bencodeDecodePrefix(rest, bodyStart);
    return { message: { cookie, body: r.value as BDict, json: false }, consumed: s + r.end };
  } catch (e) {
    if (e instanceof BencodeError) {
      if (e.incomplete) {
        if (rest.length > MAX_NG_MESSAGE) throw new NgFramingError('message too large', cookie);
        return null;
      }
      throw new NgFramingError(`bencode: ${e.message} at byte ${e.offset}`, cookie);
    }
    throw e;
  }
}

/** JSON on a stream: the object ends where its braces balance (strings and escapes skipped). */
function takeJson(buf: Buffer, start: number, cookie: string, skipped: number) {
  let depth = 0;
  let inString = false;
  for (let i = start; i < buf.length; i++) {
    const c = buf[i]!;
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) depth++;
    else if (c === 0x7d || c === 0x5d) {
      depth--;
      if (depth === 0) {
        const body = parseJsonBody(buf.subarray(start, i + 1), cookie);
        return { message: { cookie, body, json: true }, consumed: skipped + i + 1 };
      }
    }
  }
  if (buf.length > MAX_NG_MESSAGE) throw new NgFramingError('message too large', cookie);
  return null;
}
