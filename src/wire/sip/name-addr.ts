/**
 * name-addr / addr-spec with header parameters (From, To, Contact, Route, Record-Route, Reply-To...).
 * RFC 3261 20.10: without `<>`, every `;param` after the URI is a header parameter, not a URI parameter.
 */
import { SipParseError } from './errors.js';
import { type SipParams, parseParams, quote, serializeParams, splitOutside, unquote } from './params.js';
import { type SipUri, parseUri, serializeUri } from './uri.js';

export interface NameAddr {
  displayName?: string;
  uri: SipUri;
  /** Header parameters (tag, expires, q, lr on Route is a URI param...), names lower-cased. */
  params: SipParams;
}

/** Parses one name-addr or addr-spec with its header parameters. */
export function parseNameAddr(text: string): NameAddr {
  const s = text.trim();
  if (s === '') throw new SipParseError('empty address');
  let displayName: string | undefined;
  let uriText: string;
  let rest: string;
  const lt = findAngle(s);
  if (lt >= 0) {
    const dn = s.slice(0, lt).trim();
    if (dn.startsWith('"')) displayName = unquote(dn);
    else if (dn !== '') {
      if (!/^[A-Za-z0-9\-.!%*_+`'~ \t]+$/.test(dn)) throw new SipParseError('bad display name');
      displayName = dn.replace(/\s+/g, ' ');
    }
    const gt = s.indexOf('>', lt);
    if (gt < 0) throw new SipParseError('unterminated <');
    uriText = s.slice(lt + 1, gt);
    rest = s.slice(gt + 1).trim();
  } else {
    const semi = s.indexOf(';');
    uriText = semi < 0 ? s : s.slice(0, semi);
    rest = semi < 0 ? '' : s.slice(semi);
    if (/[,?]/.test(uriText)) throw new SipParseError('addr-spec with ? or , needs <>');
  }
  let params: SipParams = {};
  if (rest !== '') {
    if (rest[0] !== ';') throw new SipParseError('junk after address');
    params = parseParams(rest.slice(1), true);
  }
  const na: NameAddr = { uri: parseUri(uriText), params };
  if (displayName !== undefined) na.displayName = displayName;
  return na;
}

/** Index of the '<' opening the URI, skipping a quoted display name; -1 for a bare addr-spec. */
function findAngle(s: string): number {
  let i = 0;
  if (s[0] === '"') {
    i = 1;
    while (i < s.length && s[i] !== '"') i += s[i] === '\\' ? 2 : 1;
    if (i >= s.length) throw new SipParseError('unterminated quoted string');
    i++;
    const lt = s.indexOf('<', i);
    if (lt < 0) throw new SipParseError('quoted display name without <uri>');
    return lt;
  }
  return s.indexOf('<');
}

/** Serializes a name-addr; always with `<>` (safe for any URI). */
export function serializeNameAddr(na: NameAddr): string {
  const dn = na.displayName !== undefined ? quote(na.displayName) + ' ' : '';
  return `${dn}<${serializeUri(na.uri)}>${serializeParams(na.params, true)}`;
}

/** Splits a comma-separated header value into its elements (quotes and `<>` respected). */
export function splitList(value: string): string[] {
  return splitOutside(value, ',')
    .map((v) => v.trim())
    .filter((v) => v !== '');
}
