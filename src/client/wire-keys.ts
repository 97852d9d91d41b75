/**
 * camelCase options to the ng dictionary. Keys follow rtpengine's documented spelling (with spaces, e.g.
 * `received from`, `transport protocol`); rtpengine also accepts the hyphenated forms Kamailio sends.
 */
import { isIP } from 'node:net';
import type { BDict, BValue } from '../wire/bencode.js';
import type { NgAnyOptions } from './options.js';

type Convert = (v: unknown) => BValue;

/** Option name -> wire key, or [wire key, value conversion]. Typed so no option can be left unmapped. */
const WIRE: { [K in keyof NgAnyOptions]-?: string | [string, Convert] } = {
  // identity and selection
  callId: 'call-id',
  fromTag: 'from-tag',
  toTag: 'to-tag',
  viaBranch: 'via-branch',
  label: 'label',
  toLabel: 'to-label',
  setLabel: 'set-label',
  fromTags: 'from-tags',
  address: 'address',
  all: 'all',
  toCallId: 'to-call-id',
  flags: 'flags',
  supports: 'supports',
  extra: ['', (v) => v as BValue],
  timeoutMs: ['', (v) => v as BValue],
  metadata: 'metadata',
  interface: 'interface',
  // addressing
  receivedFrom: ['received from', receivedFrom],
  mediaAddress: 'media address',
  addressFamily: 'address family',
  direction: 'direction',
  fromInterface: 'from-interface',
  toInterface: 'to-interface',
  // SDP
  sdp: 'sdp',
  replace: 'replace',
  ice: 'ICE',
  iceLite: 'ICE-lite',
  transportProtocol: 'transport protocol',
  rtcpMux: 'rtcp-mux',
  bundle: 'bundle',
  tos: 'TOS',
  dtls: 'DTLS',
  dtlsReverse: 'DTLS-reverse',
  dtlsFingerprint: 'DTLS-fingerprint',
  sdes: 'SDES',
  osrtp: 'OSRTP',
  recordCall: ['record call', (v) => (v ? 'yes' : 'no')],
  codec: 'codec',
  ptime: 'ptime',
  ptimeReverse: 'ptime-reverse',
  sdpAttr: 'sdp-attr',
  sdpMediaRemove: 'sdp-media-remove',
  endpointLearning: 'endpoint-learning',
  mediaEcho: 'media echo',
  t38: 'T.38',
  delayBuffer: 'delay-buffer',
  audioPlayer: 'audio player',
  generateRtcp: ['generate RTCP', (v) => (v ? 'on' : 'off')],
  dropTraffic: 'drop-traffic',
  template: 'template',
  xmlrpcCallback: 'xmlrpc-callback',
  sipMessageType: 'SIP message type',
  sipCode: 'SIP code',
  moh: 'moh',
  // delete, list
  deleteDelay: 'delete delay',
  limit: 'limit',
  // recording
  recordingFile: 'recording-file',
  recordingDir: 'recording-dir',
  recordingPattern: 'recording-pattern',
  outputDestination: 'output-destination',
  // DTMF
  dtmfSecurity: 'DTMF-security',
  dtmfSecurityTrigger: 'DTMF-security-trigger',
  dtmfSecurityTriggerEnd: 'DTMF-security-trigger-end',
  trigger: 'trigger',
  triggerEnd: 'trigger-end',
  triggerEndTime: 'trigger-end-time',
  triggerEndDigits: 'trigger-end-digits',
  dtmfDelay: 'DTMF-delay',
  digit: 'digit',
  frequencies: 'frequencies',
  volume: 'volume',
  code: 'code',
  duration: 'duration',
  pause: 'pause',
  // play media
  file: 'file',
  blob: 'blob',
  dbId: 'db-id',
  repeatTimes: 'repeat-times',
  repeatDuration: 'repeat-duration',
  startPos: 'start-pos',
};

/** Keys inside nested dictionaries (codec, sdp-attr, moh) whose wire name differs. */
const NESTED: Record<string, string> = { dbId: 'db-id' };

function receivedFrom(v: unknown): BValue {
  if (Array.isArray(v)) return v as BValue;
  const addr = String(v);
  return [isIP(addr) === 6 ? 'IP6' : 'IP4', addr];
}

/** Plain values as bencode values: booleans become yes/no, undefined entries are dropped. */
function plain(v: unknown, depth = 0): BValue | undefined {
  if (depth > 16) throw new TypeError('ng option nested too deep');
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string' || Buffer.isBuffer(v)) return v;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new TypeError(`ng option value ${v} is not a finite number`);
    return v;
  }
  if (typeof v === 'boolean') return v ? 'yes' : 'no';
  if (Array.isArray(v)) return v.map((x) => plain(x, depth + 1)).filter((x) => x !== undefined);
  if (typeof v === 'object') {
    const out: BDict = {};
    for (const [k, x] of Object.entries(v)) {
      const c = plain(x, depth + 1);
      if (c !== undefined) out[NESTED[k] ?? k] = c;
    }
    return out;
  }
  throw new TypeError(`ng option value of type ${typeof v} cannot be sent`);
}

/**
 * Builds the request dictionary for `command` from typed options. Unknown option names throw TypeError
 * (a typo must not silently drop a setting); `extra` entries are copied last, unchanged.
 */
export function toWireDict(command: string, opts: object = {}): BDict {
  const dict: BDict = { command };
  for (const [name, value] of Object.entries(opts)) {
    if (value === undefined || name === 'extra' || name === 'timeoutMs') continue;
    const spec = (WIRE as Record<string, string | [string, Convert]>)[name];
    if (spec === undefined) throw new TypeError(`unknown ng option '${name}' for ${command}`);
    const [key, convert] = typeof spec === 'string' ? [spec, undefined] : spec;
    const v = convert ? convert(value) : plain(value);
    if (v !== undefined) dict[key] = v;
  }
  const extra = (opts as { extra?: BDict }).extra;
  if (extra) for (const [k, v] of Object.entries(extra)) if (v !== undefined) dict[k] = v;
  return dict;
}

/** The wire key an option name maps to (for documentation and tests). */
export function wireKeyOf(option: keyof NgAnyOptions): string {
  const spec = WIRE[option];
  return typeof spec === 'string' ? spec : spec[0];
}
