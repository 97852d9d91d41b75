/**
 * Translates ng dictionary keys and flags into engine options. rtpengine accepts keys and flags with spaces,
 * hyphens or underscores and in any case; so do we. What we don't implement yet is reported as a warning,
 * never silently misapplied.
 */
import { SRTP_SUITES } from '../media/srtp.js';
import type { BDict, BValue } from '../wire/bencode.js';
import type { CodecFilter } from '../engine/codec-filter.js';
import type { RtcpMuxMode, SignalOptions } from '../engine/options.js';

/** A request the front end refuses before it reaches the engine. */
export class NgRequestError extends Error {}

/** Normalised keys seen so far: requests repeat a small vocabulary (bounded against made-up keys). */
const normalizedKeys = new Map<string, string>();
const NORMALIZED_KEYS_MAX = 1024;

export function normalizeKey(k: string): string {
  let n = normalizedKeys.get(k);
  if (n !== undefined) return n;
  n = k.toLowerCase().replace(/[-_]/g, ' ');
  if (normalizedKeys.size < NORMALIZED_KEYS_MAX) normalizedKeys.set(k, n);
  return n;
}

/** The request's keys under normalised names (`call-id`, `Call_ID` and `call id` are one key). */
export function normalizeDict(d: BDict): Map<string, BValue> {
  const m = new Map<string, BValue>();
  for (const k of Object.keys(d)) m.set(normalizeKey(k), d[k]!);
  return m;
}

export function str(m: Map<string, BValue>, key: string): string | undefined {
  const v = m.get(key);
  if (v === undefined) return undefined;
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return String(v);
  if (Buffer.isBuffer(v)) return v.toString('utf8');
  throw new NgRequestError(`'${key}' must be a string`);
}

export function list(m: Map<string, BValue>, key: string): string[] {
  const v = m.get(key);
  if (v === undefined) return [];
  if (typeof v === 'string') return v.split(/[\s,]+/).filter((x) => x !== '');
  if (Array.isArray(v))
    return v
      .map((x) => (typeof x === 'string' || typeof x === 'number' ? String(x) : ''))
      .filter((x) => x !== '');
  throw new NgRequestError(`'${key}' must be a list`);
}

export function requireStr(m: Map<string, BValue>, key: string, what: string): string {
  const v = str(m, key);
  if (v === undefined || v === '') throw new NgRequestError(`No ${what} in message`);
  return v;
}

/** Keys that carry no option for offer/answer, or are read elsewhere; never warned about. */
const PLAIN_KEYS = new Set([
  'command',
  'call id',
  'from tag',
  'to tag',
  'via branch',
  'sdp',
  'supports',
  'flags',
  'label',
  'from label',
  'set label',
  'received from',
  'media address',
  'address family',
  'direction',
  'rtcp mux',
  'ice',
  'replace',
  'metadata',
  'transport protocol',
  'tos',
  'sip message type',
  'sip code',
  'from tags',
  'to label',
  'interface',
  'codec',
  // Read by the media front end after the offer/answer (ng-media.ts).
  'record call',
  'dtmf log dest',
  'moh',
  'sdes',
  'dtls',
  'dtls fingerprint',
]);

const FLAG_WORDS = new Set([
  'trust address',
  'sip source address',
  'symmetric',
  'asymmetric',
  'unidirectional',
  'strict source',
  'media handover',
  'port latching',
  'no port latching',
  'reset',
  'loop protect',
  'original sendrecv',
  'no rtcp attribute',
  'full rtcp attribute',
  'generate mid',
  'replace origin',
  'replace session connection',
  'fatal',
  'fast',
]);

export interface ParsedSignal {
  opts: SignalOptions;
  warnings: string[];
  flags: Set<string>;
  /** The request's keys normalised (for handlers that read more of it). */
  dict: Map<string, BValue>;
}

const MUX_MODES: ReadonlySet<string> = new Set(['offer', 'require', 'demux', 'accept', 'reject']);

export function parseSignal(d: BDict, command: 'offer' | 'answer'): ParsedSignal {
  const m = normalizeDict(d);
  const warnings: string[] = [];
  const sdp = str(m, 'sdp');
  if (sdp === undefined || sdp === '') throw new NgRequestError('No SDP body in message');
  const callId = requireStr(m, 'call id', 'call-id');
  const fromTag = requireStr(m, 'from tag', 'from-tag');
  const toTag = str(m, 'to tag');
  if (command === 'answer' && !toTag) throw new NgRequestError('No to-tag in message');

  const flags = new Set<string>();
  const codec = parseCodec(m, warnings);
  const sdes: string[] = [];
  let webrtc = false;
  for (const raw of list(m, 'flags')) {
    if (codecFlag(raw, codec, warnings)) continue;
    const eq = raw.indexOf('=');
    if (eq > 0) {
      // Flags may carry dictionary options as key=value (e.g. "ICE=remove", "rtcp-mux-demux" forms below).
      const key = normalizeKey(raw.slice(0, eq));
      const val = raw.slice(eq + 1);
      if (
        key === 'ice' ||
        key === 'address family' ||
        key === 'transport protocol' ||
        key === 'media address'
      ) {
        m.set(key, val);
      } else if (key === 'rtcp mux' || key === 'replace' || key === 'direction') {
        m.set(key, [...list(m, key), val]);
      } else warnings.push(`Unsupported flag '${raw}' ignored`);
      continue;
    }
    const f = normalizeKey(raw);
    if (f.startsWith('rtcp mux ') && MUX_MODES.has(f.slice(9))) {
      m.set('rtcp mux', [...list(m, 'rtcp mux'), f.slice(9)]);
      continue;
    }
    if (f.startsWith('replace ')) {
      m.set('replace', [...list(m, 'replace'), f.slice(8)]);
      continue;
    }
    if (f === 'webrtc') {
      webrtc = true;
      continue;
    }
    const sdesFlag = /^SDES-(no|only)-(\S+)$/i.exec(raw);
    if (sdesFlag) {
      sdes.push(`${sdesFlag[1]!.toLowerCase()}-${sdesFlag[2]!.toUpperCase()}`);
      continue;
    }
    if (FLAG_WORDS.has(f)) flags.add(f);
    else warnings.push(`Unsupported flag '${raw}' ignored`);
  }
  // `SDES: ["no-<suite>", "only-<suite>"]`, as the flags above say it.
  for (const x of list(m, 'sdes')) {
    const r = /^(no|only)-(\S+)$/i.exec(x);
    if (r) sdes.push(`${r[1]!.toLowerCase()}-${r[2]!.toUpperCase()}`);
    else warnings.push(`Unsupported SDES option '${x}' ignored`);
  }

  const opts: SignalOptions = { callId, fromTag, sdp };
  if (sdes.length) {
    const no = sdes.filter((x) => x.startsWith('no-')).map((x) => x.slice(3));
    const only = sdes.filter((x) => x.startsWith('only-')).map((x) => x.slice(5));
    opts.sdesSuites = SRTP_SUITES.filter((x) => !no.includes(x) && (only.length === 0 || only.includes(x)));
  }
  if (codec.strip || codec.mask || codec.except || codec.transcode) opts.codec = codec;
  if (toTag) opts.toTag = toTag;
  const viaBranch = str(m, 'via branch');
  if (viaBranch) opts.viaBranch = viaBranch;
  const label = str(m, 'label') ?? str(m, 'from label');
  if (label !== undefined) opts.label = label;
  const metadata = str(m, 'metadata');
  if (metadata !== undefined) opts.metadata = metadata;

  if (flags.has('sip source address')) opts.sipSourceAddress = true;
  if (flags.has('trust address')) opts.sipSourceAddress = false;
  const rf = list(m, 'received from');
  if (rf.length === 2) opts.receivedFrom = rf[1]!;
  else if (rf.length === 1) opts.receivedFrom = rf[0]!;
  if (flags.has('asymmetric')) opts.learning = 'off';
  if (flags.has('media handover')) opts.learning = 'handover';
  if (flags.has('strict source')) opts.strictSource = true;
  if (flags.has('no port latching')) opts.noPortLatching = true;
  if (flags.has('reset')) opts.reset = true;
  if (flags.has('loop protect')) opts.loopProtect = true;
  if (flags.has('original sendrecv')) opts.originalSendrecv = true;
  if (flags.has('no rtcp attribute')) opts.rtcpAttribute = 'none';
  else if (flags.has('full rtcp attribute')) opts.rtcpAttribute = 'full';
  if (flags.has('generate mid')) opts.generateMid = true;

  for (const r of list(m, 'replace')) {
    const k = normalizeKey(r);
    if (k === 'origin') opts.replaceOrigin = true;
    else if (k === 'session connection') opts.replaceSessionConnection = true;
    else warnings.push(`Unsupported replace option '${r}' ignored`);
  }

  const mediaAddress = str(m, 'media address');
  if (mediaAddress) opts.mediaAddress = mediaAddress;
  const af = str(m, 'address family');
  if (af !== undefined) {
    const u = af.toUpperCase();
    if (u === 'IP4') opts.addressFamily = 4;
    else if (u === 'IP6') opts.addressFamily = 6;
    else throw new NgRequestError(`Invalid address family '${af}'`);
  }
  const dir = list(m, 'direction');
  if (dir.length > 0) opts.direction = [dir[0]!, dir[1] ?? dir[0]!];

  const mux: RtcpMuxMode[] = [];
  for (const x of list(m, 'rtcp mux')) {
    const k = normalizeKey(x);
    if (MUX_MODES.has(k)) mux.push(k as RtcpMuxMode);
    else warnings.push(`Unsupported rtcp-mux option '${x}' ignored`);
  }
  if (mux.length > 0) opts.rtcpMux = mux;

  const ice = str(m, 'ice');
  if (ice !== undefined) {
    const k = normalizeKey(ice);
    if (k === 'remove') opts.iceRemove = true;
    else if (k === 'force') opts.iceForce = true;
    else if (k !== 'default') warnings.push(`ICE '${ice}' is not supported yet: ICE attributes removed`);
  }
  // `WebRTC` (our flag): whichever side is the browser gets WebRTC, the other plain RTP.
  if (webrtc && command === 'offer' && str(m, 'transport protocol') === undefined)
    m.set(
      'transport protocol',
      /^m=audio \S+ UDP\/TLS\/RTP\/SAVPF?\b/m.test(sdp) ? 'RTP/AVP' : 'UDP/TLS/RTP/SAVPF',
    );
  const dtls = str(m, 'dtls');
  if (dtls !== undefined) {
    const k = normalizeKey(dtls);
    if (k === 'off' || k === 'no' || k === 'disable') opts.dtlsOff = true;
    else if (k !== 'passive')
      warnings.push(`DTLS '${dtls}' is not supported (we are the DTLS server): ignored`);
  }
  const dtlsFp = str(m, 'dtls fingerprint');
  if (dtlsFp !== undefined) {
    const hash = dtlsFp
      .trim()
      .toLowerCase()
      .replace(/^sha-?/, 'sha');
    if (/^sha(1|224|256|384|512)$/.test(hash)) opts.dtlsHash = hash;
    else
      warnings.push(
        `DTLS-fingerprint '${dtlsFp}' is not supported (sha-1, sha-224, sha-256, sha-384, sha-512): sha-256 used`,
      );
  }
  const tp = str(m, 'transport protocol');
  const rtpProto = tp?.toUpperCase();
  if (
    rtpProto === 'RTP/AVP' ||
    rtpProto === 'RTP/AVPF' ||
    rtpProto === 'RTP/SAVP' ||
    rtpProto === 'RTP/SAVPF' ||
    rtpProto === 'UDP/TLS/RTP/SAVP' ||
    rtpProto === 'UDP/TLS/RTP/SAVPF'
  )
    opts.transportProtocol = rtpProto;
  else if (tp !== undefined && normalizeKey(tp) !== 'accept' && !sdpUsesProtocol(sdp, tp)) {
    warnings.push(`Transport protocol conversion to '${tp}' is not supported yet: protocol left as offered`);
  }
  const tos = str(m, 'tos');
  if (tos !== undefined) {
    const n = Number(tos);
    if (!Number.isInteger(n) || n < 0 || n > 255) throw new NgRequestError(`Invalid TOS '${tos}'`);
    opts.tos = n;
  }

  for (const k of m.keys()) {
    if (!PLAIN_KEYS.has(k)) warnings.push(`Unsupported option '${k}' ignored`);
  }
  return { opts, warnings, flags, dict: m };
}

function sdpUsesProtocol(sdp: string, proto: string): boolean {
  const re = /^m=\S+ \S+ (\S+)/gm;
  let any = false;
  for (let r = re.exec(sdp); r; r = re.exec(sdp)) {
    any = true;
    if (r[1]!.toUpperCase() !== proto.toUpperCase()) return false;
  }
  return any;
}

const CODEC_ACTIONS = new Set(['strip', 'mask', 'except', 'transcode']);
const CODEC_NOT_YET = new Set(['offer', 'set', 'accept', 'consume', 'ignore']);

/**
 * The `codec` dictionary: strip, mask and except work on the SDP, transcode between PCMU, PCMA and G.722 (the
 * engine warns about other codecs); the rest needs general transcoding (a warning).
 */
function parseCodec(m: Map<string, BValue>, warnings: string[]): CodecFilter {
  const out: CodecFilter = {};
  const v = m.get('codec');
  if (v === undefined) return out;
  if (typeof v !== 'object' || Array.isArray(v) || Buffer.isBuffer(v)) {
    throw new NgRequestError("'codec' must be a dictionary");
  }
  const d = normalizeDict(v);
  for (const k of d.keys()) {
    if (CODEC_ACTIONS.has(k)) out[k as keyof CodecFilter] = list(d, k);
    else if (CODEC_NOT_YET.has(k))
      warnings.push(`codec '${k}' needs transcoding, which is not supported yet`);
    else warnings.push(`Unsupported codec option '${k}' ignored`);
  }
  return out;
}

/**
 * Flag forms `codec-strip-PCMA`, `codec-mask-G722`, `codec-except-PCMU`, `codec-transcode-PCMA` (also
 * rtpengine's older `transcode-PCMA`); true when the flag was one.
 */
function codecFlag(raw: string, codec: CodecFilter, warnings: string[]): boolean {
  const r = /^codec[-_ ]([a-z]+)[-_ ](.+)$/i.exec(raw) ?? /^(transcode)[-_ ](.+)$/i.exec(raw);
  if (!r) return false;
  const action = r[1]!.toLowerCase();
  if (CODEC_ACTIONS.has(action)) {
    const key = action as keyof CodecFilter;
    codec[key] = [...(codec[key] ?? []), r[2]!];
  } else if (CODEC_NOT_YET.has(action))
    warnings.push(`codec '${action}' needs transcoding, which is not supported yet`);
  else return false;
  return true;
}
