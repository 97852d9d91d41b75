/**
 * Generic parameters (`;name=value`) as used by URIs, name-addrs and Via. Names are lower-cased (they are
 * case-insensitive); a parameter without a value maps to null. Values may be quoted strings in headers.
 */
import { SipParseError } from './errors.js';

export type SipParams = Record<string, string | null>;

const TOKEN = /^[A-Za-z0-9\-.!%*_+`'~]+$/;

/** True when `s` is an RFC 3261 token. */
export function isToken(s: string): boolean {
  return TOKEN.test(s);
}

/**
 * Splits `s` on `sep` outside double quotes and (optionally) outside `<...>`. Backslash escapes inside
 * quotes are honoured. Throws on an unterminated quote or bracket.
 */
export function splitOutside(s: string, sep: string, angle = true): string[] {
  const out: string[] = [];
  let start = 0;
  let quoted = false;
  let depth = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (quoted) {
      if (c === '\\') i++;
      else if (c === '"') quoted = false;
    } else if (c === '"') quoted = true;
    else if (angle && c === '<') depth++;
    else if (angle && c === '>') depth = Math.max(0, depth - 1);
    else if (c === sep && depth === 0) {
      out.push(s.slice(start, i));
      start = i + 1;
    }
  }
  if (quoted) throw new SipParseError('unterminated quoted string');
  if (depth !== 0) throw new SipParseError('unterminated <');
  out.push(s.slice(start));
  return out;
}

/** Removes the quotes and backslash escapes of a quoted-string. */
export function unquote(s: string): string {
  if (s.length < 2 || s[0] !== '"' || s[s.length - 1] !== '"') throw new SipParseError('bad quoted string');
  let out = '';
  for (let i = 1; i < s.length - 1; i++) {
    const c = s[i];
    if (c === '\\') {
      i++;
      if (i >= s.length - 1) throw new SipParseError('bad escape in quoted string');
      out += s[i];
    } else if (c === '"') throw new SipParseError('stray quote in quoted string');
    else out += c;
  }
  return out;
}

/** Quotes a string for a header (display names, quoted parameter values). */
export function quote(s: string): string {
  return '"' + s.replace(/["\\]/g, (c) => '\\' + c) + '"';
}

/**
 * Parses `;a=1;b;c="x y"` (the leading ';' already removed from the first, i.e. input is the text after the
 * first ';'). `quotedValues` allows quoted-string values (header params); URI params never have them.
 */
export function parseParams(s: string, quotedValues: boolean): SipParams {
  const params: SipParams = {};
  if (s.trim() === '') return params;
  for (const raw of quotedValues ? splitOutside(s, ';', false) : s.split(';')) {
    const part = raw.trim();
    if (part === '') throw new SipParseError('empty parameter');
    const eq = part.indexOf('=');
    const name = (eq < 0 ? part : part.slice(0, eq)).trim().toLowerCase();
    if (!isToken(name) && !/^[A-Za-z0-9\-.!~*_'()%[\]/:&+$]+$/.test(name))
      throw new SipParseError(`bad parameter name '${name}'`);
    if (eq < 0) {
      params[name] = null;
      continue;
    }
    const value = part.slice(eq + 1).trim();
    if (quotedValues && value.startsWith('"')) params[name] = unquote(value);
    else {
      if (value === '' || /[\s"<>,]/.test(value))
        throw new SipParseError(`bad value for parameter '${name}'`);
      params[name] = value;
    }
  }
  return params;
}

/** Serializes parameters with leading ';'s; values that are not tokens (or hosts) get quoted in headers. */
export function serializeParams(params: SipParams, quotedValues: boolean): string {
  let out = '';
  for (const [name, value] of Object.entries(params)) {
    if (value === null) out += ';' + name;
    else if (quotedValues && !/^[A-Za-z0-9\-.!%*_+`'~:[\]]+$/.test(value))
      out += ';' + name + '=' + quote(value);
    else out += ';' + name + '=' + value;
  }
  return out;
}
