/**
 * bencode as the rtpengine ng protocol uses it: byte strings, integers, lists and dictionaries. Byte strings
 * that are valid UTF-8 decode to text; others (a `blob` of audio) stay bytes, as a Buffer. Keys are accepted
 * in any order on decode (Kamailio does not sort them) and sorted on encode.
 */
import { isUtf8 } from 'node:buffer';

export type BValue = string | number | Buffer | BValue[] | BDict;
export interface BDict {
  [key: string]: BValue;
}

/** Malformed input. `incomplete` means the bytes so far are a valid prefix: more data may complete them. */
export class BencodeError extends Error {
  constructor(
    message: string,
    readonly offset: number,
    readonly incomplete = false,
  ) {
    super(message);
    this.name = 'BencodeError';
  }
}

/** Nesting deeper than this is refused: a peer must not be able to exhaust the stack. */
export const MAX_DEPTH = 32;

const D = 0x64; // d
const L = 0x6c; // l
const I = 0x69; // i
const E = 0x65; // e
const COLON = 0x3a;

/**
 * Encodes in two passes, sizing then writing into one buffer: replies are encoded for every request, and
 * a buffer per token would be most of their cost.
 */
export function bencodeEncode(value: BValue): Buffer {
  const out = Buffer.allocUnsafe(encodedSize(value, 0));
  const end = writeValue(value, out, 0);
  return end === out.length ? out : out.subarray(0, end);
}

/** A dictionary's keys in bencode order (byte order; already-ordered keys, the usual case, are not sorted). */
function orderedKeys(d: BDict): string[] {
  const keys = Object.keys(d);
  for (let i = 1; i < keys.length; i++) if (keys[i - 1]! > keys[i]!) return keys.sort();
  return keys;
}

function digits(n: number): number {
  return n < 10 ? 1 : n < 100 ? 2 : n < 1000 ? 3 : n < 10000 ? 4 : String(n).length;
}

function encodedSize(value: BValue, depth: number): number {
  if (depth > MAX_DEPTH) throw new BencodeError('nesting too deep', 0);
  if (typeof value === 'string') {
    const n = Buffer.byteLength(value, 'utf8');
    return digits(n) + 1 + n;
  }
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new BencodeError('non-finite number', 0);
    return String(Math.trunc(value)).length + 2;
  }
  if (Buffer.isBuffer(value)) return digits(value.length) + 1 + value.length;
  if (Array.isArray(value)) {
    let n = 2;
    for (const v of value) n += encodedSize(v, depth + 1);
    return n;
  }
  if (value !== null && typeof value === 'object') {
    let n = 2;
    for (const key of orderedKeys(value)) {
      const v = value[key];
      if (v === undefined) continue;
      n += encodedSize(key, depth + 1) + encodedSize(v, depth + 1);
    }
    return n;
  }
  throw new BencodeError(`cannot encode ${typeof value}`, 0);
}

/** Writes `value` at `at` (the buffer was sized by encodedSize); returns the offset after it. */
function writeValue(value: BValue, out: Buffer, at: number): number {
  if (typeof value === 'string') {
    const n = Buffer.byteLength(value, 'utf8');
    at += out.write(`${n}:`, at, 'latin1');
    return at + out.write(value, at, 'utf8');
  }
  if (typeof value === 'number') return at + out.write(`i${Math.trunc(value)}e`, at, 'latin1');
  if (Buffer.isBuffer(value)) {
    at += out.write(`${value.length}:`, at, 'latin1');
    return at + value.copy(out, at);
  }
  if (Array.isArray(value)) {
    out[at++] = L;
    for (const v of value) at = writeValue(v, out, at);
    out[at++] = E;
    return at;
  }
  const d = value as BDict;
  out[at++] = D;
  for (const key of orderedKeys(d)) {
    const v = d[key];
    if (v === undefined) continue;
    at = writeValue(key, out, at);
    at = writeValue(v, out, at);
  }
  out[at++] = E;
  return at;
}

export interface DecodeResult {
  value: BValue;
  /** Offset just past the decoded value. */
  end: number;
}

/** Decodes one value starting at `start`; bytes after it are left to the caller. */
export function bencodeDecodePrefix(buf: Buffer, start = 0): DecodeResult {
  return decodeAt(buf, start, 0);
}

/** Decodes exactly one value spanning the whole buffer. */
export function bencodeDecode(buf: Buffer): BValue {
  const { value, end } = decodeAt(buf, 0, 0);
  if (end !== buf.length) throw new BencodeError('trailing bytes after value', end);
  return value;
}

function need(buf: Buffer, pos: number): number {
  const b = buf[pos];
  if (b === undefined) throw new BencodeError('unexpected end of input', pos, true);
  return b;
}

function decodeAt(buf: Buffer, pos: number, depth: number): DecodeResult {
  if (depth > MAX_DEPTH) throw new BencodeError('nesting too deep', pos);
  const c = need(buf, pos);
  if (c === I) return decodeInt(buf, pos);
  if (c >= 0x30 && c <= 0x39) {
    const { bytes, end } = decodeBytes(buf, pos);
    return { value: isUtf8(bytes) ? bytes.toString('utf8') : Buffer.from(bytes), end };
  }
  if (c === L) {
    const list: BValue[] = [];
    let p = pos + 1;
    while (need(buf, p) !== E) {
      const r = decodeAt(buf, p, depth + 1);
      list.push(r.value);
      p = r.end;
    }
    return { value: list, end: p + 1 };
  }
  if (c === D) {
    // A null prototype keeps keys like "__proto__" from a peer inert.
    const dict = Object.create(null) as BDict;
    let p = pos + 1;
    while (need(buf, p) !== E) {
      const k = need(buf, p);
      if (k < 0x30 || k > 0x39) throw new BencodeError('dictionary key is not a string', p);
      const key = decodeBytes(buf, p);
      const r = decodeAt(buf, key.end, depth + 1);
      dict[key.bytes.toString('utf8')] = r.value;
      p = r.end;
    }
    return { value: dict, end: p + 1 };
  }
  throw new BencodeError(`unexpected byte 0x${c.toString(16).padStart(2, '0')}`, pos);
}

function decodeInt(buf: Buffer, pos: number): DecodeResult {
  let p = pos + 1;
  let neg = false;
  if (need(buf, p) === 0x2d) {
    neg = true;
    p++;
  }
  const digitsStart = p;
  let n = 0;
  for (;;) {
    const c = need(buf, p);
    if (c === E) break;
    if (c < 0x30 || c > 0x39) throw new BencodeError('bad digit in integer', p);
    n = n * 10 + (c - 0x30);
    if (p - digitsStart > 16) throw new BencodeError('integer too long', p);
    p++;
  }
  if (p === digitsStart) throw new BencodeError('empty integer', p);
  return { value: neg ? -n : n, end: p + 1 };
}

function decodeBytes(buf: Buffer, pos: number): { bytes: Buffer; end: number } {
  let p = pos;
  let len = 0;
  for (;;) {
    const c = need(buf, p);
    if (c === COLON) break;
    if (c < 0x30 || c > 0x39) throw new BencodeError('bad digit in string length', p);
    len = len * 10 + (c - 0x30);
    if (p - pos > 9) throw new BencodeError('string length too long', p);
    p++;
  }
  if (p === pos) throw new BencodeError('empty string length', p);
  const start = p + 1;
  const end = start + len;
  if (end > buf.length) throw new BencodeError('string runs past end of input', buf.length, true);
  return { bytes: buf.subarray(start, end), end };
}
