/**
 * The `rtpp-flags` key: every option of a request in one string, the way Kamailio's rtpengine module can send
 * them (its flags argument passed through unparsed), e.g.
 * `replace-origin strict-source label=caller ICE=remove direction=internal direction=external
 * codec=[strip=[PCMA] transcode=[opus]] SDP-attr=[audio=[remove=[test]]]`.
 *
 * The string is expanded into ordinary dictionary keys before a command is handled, so every option means
 * the same in both forms. Its syntax is read by wire/rtpp-flags.ts; here a bare word is a flag (`flags`
 * list), except a transport protocol name (`transport-protocol`) and `internal`/`external` (`direction`);
 * `codec-<action>=X` is `codec: { <action>: [X] }`; keys that take lists (`direction`, `replace`, `rtcp-mux`,
 * ...) collect every occurrence. Keys given as dictionary keys in the same request win over the string's.
 */
import type { BDict, BValue } from '../wire/bencode.js';
import { RtppFlagsError, type RtppFlagsToken, parseRtppFlagsSyntax } from '../wire/rtpp-flags.js';
import { NgRequestError, normalizeKey } from './ng-options.js';

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
  let toks: RtppFlagsToken[];
  try {
    toks = parseRtppFlagsSyntax(s);
  } catch (e) {
    if (e instanceof RtppFlagsError) throw new NgRequestError(e.message);
    throw e;
  }
  for (const t of toks) {
    if ('word' in t) {
      const w = t.word;
      const n = normalizeKey(w);
      if (TRANSPORTS.has(w.toLowerCase())) out['transport protocol'] = w;
      else if (n === 'internal' || n === 'external') add('direction', n);
      else if (!w.startsWith('[')) add('flags', w);
      continue;
    }
    const key = normalizeKey(t.key);
    const v = t.value;
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
