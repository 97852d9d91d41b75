/**
 * The `rtpp-flags` key: every option of a request in one string, the way Kamailio's rtpengine module can send
 * them (its flags argument passed through unparsed), e.g.
 * `replace-origin strict-source label=caller ICE=remove direction=internal direction=external
 * codec=[strip=[PCMA] transcode=[opus]] SDP-attr=[audio=[remove=[test]]]`.
 *
 * The string is expanded into ordinary dictionary keys before a command is handled, so every option means
 * the same in both forms. Grammar: tokens separated by white space; `key=value`; `key=[a b c]` (a list) or
 * `key=[k=v k2=[..]]` (a dictionary, when every item is `k=v`); a bare token is a flag (`flags` list), except
 * a transport protocol name (`transport-protocol`) and `internal`/`external` (`direction`). `codec-<action>=X`
 * is `codec: { <action>: [X] }`. Keys that take lists (`direction`, `replace`, `rtcp-mux`, ...) collect every
 * occurrence. Keys given as dictionary keys in the same request win over the string's.
 */
import type { BDict, BValue } from '../wire/bencode.js';
import { NgRequestError, normalizeKey } from './ng-options.js';

/** Deeper nesting than any option has (SDP-attr uses three levels) is refused. */
const MAX_DEPTH = 6;

const TRANSPORTS = new Set(
  ['RTP/AVP', 'RTP/SAVP', 'RTP/AVPF', 'RTP/SAVPF', 'UDP/TLS/RTP/SAVP', 'UDP/TLS/RTP/SAVPF'].map((t) =>
    t.toLowerCase(),
  ),
);

/** Keys whose occurrences add up to a list (normalised names). */
const LIST_KEYS = new Set([
  'flags',
  'direction',
  'replace',
  'rtcp mux',
  'received from',
  'sdes',
  'osrtp',
  't38',
  't.38',
  'supports',
  'from tags',
  'frequencies',
  'sdp media remove',
]);

const CODEC_KEY = /^codec (strip|mask|except|offer|transcode|accept|consume|ignore|set|eliminate)$/;

/** Splits at white space outside brackets; throws on unbalanced brackets. */
function tokens(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = -1;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '[') {
      depth++;
      if (depth > MAX_DEPTH) throw new NgRequestError('rtpp-flags nested too deeply');
    } else if (c === ']') {
      depth--;
      if (depth < 0) throw new NgRequestError("Unbalanced ']' in rtpp-flags");
    }
    const space = c === ' ' || c === '\t' || c === '\r' || c === '\n';
    if (space && depth === 0) {
      if (start >= 0) out.push(s.slice(start, i));
      start = -1;
    } else if (start < 0) start = i;
  }
  if (depth !== 0) throw new NgRequestError("Unbalanced '[' in rtpp-flags");
  if (start >= 0) out.push(s.slice(start));
  return out;
}

/** `k=v` with the `=` before any bracket: [key, value]; otherwise null. */
function keyValue(t: string): [string, string] | null {
  const eq = t.indexOf('=');
  if (eq <= 0) return null;
  const br = t.indexOf('[');
  if (br >= 0 && br < eq) return null;
  return [t.slice(0, eq), t.slice(eq + 1)];
}

/** A value: `[...]` is a list or a dictionary, anything else a string. */
function value(v: string): BValue {
  if (!v.startsWith('[')) return v;
  // tokens() checked the balance of the whole string; a value must be one bracketed group.
  if (!v.endsWith(']')) throw new NgRequestError(`Malformed rtpp-flags value '${v}'`);
  const items = tokens(v.slice(1, -1));
  const pairs = items.map(keyValue);
  if (items.length > 0 && pairs.every((p) => p !== null)) {
    const d: BDict = {};
    // `__proto__` would replace the object's prototype instead of adding a key.
    for (const [k, x] of pairs as [string, string][]) if (k !== '__proto__') d[k] = value(x);
    return d;
  }
  return items.map((x) => value(x));
}

function isDict(v: BValue | undefined): v is BDict {
  return typeof v === 'object' && !Array.isArray(v) && !Buffer.isBuffer(v);
}

/** The `codec` dictionary being built (a `codec=` that was not a dictionary is replaced). */
function codecDict(out: BDict): BDict {
  const c = out.codec;
  if (isDict(c)) return c;
  const d: BDict = {};
  out.codec = d;
  return d;
}

function asList(v: BValue | undefined): BValue[] {
  if (v === undefined) return [];
  return Array.isArray(v) ? v : [v];
}

/** The string's options as a dictionary under normalised keys. */
export function parseRtppFlags(s: string): BDict {
  const out: BDict = {};
  const add = (key: string, v: BValue) => {
    out[key] = [...asList(out[key]), ...asList(v)];
  };
  for (const t of tokens(s)) {
    const kv = keyValue(t);
    if (!kv) {
      const n = normalizeKey(t);
      if (TRANSPORTS.has(t.toLowerCase())) out['transport protocol'] = t;
      else if (n === 'internal' || n === 'external') add('direction', n);
      else if (!t.startsWith('[')) add('flags', t);
      continue;
    }
    const key = normalizeKey(kv[0]);
    const v = value(kv[1]);
    const codec = CODEC_KEY.exec(key);
    if (codec) {
      const d = codecDict(out);
      d[codec[1]!] = [...asList(d[codec[1]!]), ...asList(v)];
    } else if (LIST_KEYS.has(key)) add(key, v);
    else if (key === 'codec' && isDict(v)) {
      const d = codecDict(out);
      for (const [k, x] of Object.entries(v)) d[k] = [...asList(d[k]), ...asList(x)];
    } else out[key] = v;
  }
  return out;
}

/**
 * The request with its `rtpp-flags` string expanded into keys (the request itself when it has none). Lists
 * join (`flags` from both forms); for any other key the request's own dictionary key wins.
 */
export function expandRtppFlags(body: BDict): BDict {
  let raw: BValue | undefined;
  let rawKey = '';
  for (const k in body) {
    if (k.length === 10 && normalizeKey(k) === 'rtpp flags') {
      raw = body[k];
      rawKey = k;
      break;
    }
  }
  if (raw === undefined) return body;
  if (typeof raw !== 'string' && !Buffer.isBuffer(raw))
    throw new NgRequestError("'rtpp-flags' must be a string");
  const parsed = parseRtppFlags(typeof raw === 'string' ? raw : raw.toString('utf8'));
  const out: BDict = {};
  const byNorm = new Map<string, string>();
  for (const k in body) {
    if (k === rawKey || k === '__proto__') continue;
    out[k] = body[k]!;
    byNorm.set(normalizeKey(k), k);
  }
  for (const [k, v] of Object.entries(parsed)) {
    const own = byNorm.get(k);
    if (own === undefined) out[k] = v;
    else if (LIST_KEYS.has(k)) out[own] = [...asList(out[own]), ...asList(v)];
  }
  return out;
}
