/**
 * SDP offer/answer (RFC 3264) for the media server: one audio stream of PCMU, PCMA or G.722 (sent and
 * received as its lower band, narrowband like G.711: media/g722.ts), plus RFC 4733
 * telephone-event when the peer offers it, at a packet time taken from the offer's a=ptime.
 * Other m= sections are refused with port 0, keeping their position as RFC 3264 section 6 requires.
 */
import { isIP } from 'node:net';
import type { RtpAddress } from '../../dataplane/rtp-endpoint.js';
import { type NarrowbandCodec, narrowbandCodec } from '../../media/narrowband-convert.js';
import { Sdp, type SdpDirection, SdpError, type SdpMedia } from '../../wire/sdp.js';

/** What was agreed for the audio stream. */
export interface AudioFormat {
  codec: NarrowbandCodec;
  /** Payload type of the codec (0, 8 or 9, or what a peer's rtpmap said). */
  payloadType: number;
  /** Payload type of telephone-event/8000, when both sides have it. */
  telephoneEvent: number | undefined;
  /** Packet interval in ms. */
  ptime: number;
}

/** The negotiated audio stream of one side of a call. */
export interface NegotiatedAudio extends AudioFormat {
  /** Where to send RTP (null while on hold with 0.0.0.0, or when the port is 0). */
  remote: RtpAddress | null;
  /** Our direction: we send when it is sendrecv or sendonly. */
  direction: SdpDirection;
}

export interface NegotiationPolicy {
  /** Codecs we accept, in our preference order when the offer does not decide (default PCMU, PCMA, G722). */
  codecs: readonly NarrowbandCodec[];
  /** Packet interval when the offer has no a=ptime (default 20). */
  ptime: number;
}

export const DEFAULT_POLICY: NegotiationPolicy = { codecs: ['PCMU', 'PCMA', 'G722'], ptime: 20 };

/** An offer we cannot take: the INVITE gets `status` (488 Not Acceptable Here, or 400). */
export class NegotiationError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
    this.name = 'NegotiationError';
  }
}

const STATIC_PT: Readonly<Record<NarrowbandCodec, number>> = { PCMU: 0, PCMA: 8, G722: 9 };
/** ptime values a frame can have here (whole ms, at least one sample, at most 200 ms). */
const MIN_PTIME = 10;
const MAX_PTIME = 200;
const TE_DEFAULT_PT = 101;

function codecOf(m: SdpMedia, pt: number): NarrowbandCodec | 'telephone-event' | undefined {
  const map = m.rtpmaps().get(pt);
  if (!map) {
    if (pt === 0) return 'PCMU';
    if (pt === 8) return 'PCMA';
    if (pt === 9) return 'G722';
    return undefined;
  }
  if (map.channels !== undefined && map.channels !== 1) return undefined;
  if (map.encoding.toUpperCase() === 'TELEPHONE-EVENT')
    return map.clockRate === 8000 ? 'telephone-event' : undefined;
  return narrowbandCodec(map.encoding, map.clockRate);
}

function clampPtime(p: number | undefined, fallback: number): number {
  if (p === undefined || !Number.isInteger(p)) return fallback;
  return Math.min(MAX_PTIME, Math.max(MIN_PTIME, p));
}

function reverse(d: SdpDirection): SdpDirection {
  if (d === 'sendonly') return 'recvonly';
  if (d === 'recvonly') return 'sendonly';
  return d;
}

function remoteOf(sdp: Sdp, m: SdpMedia): RtpAddress | null {
  const c = sdp.connectionOf(m);
  if (!c || m.port === 0) return null;
  const address = c.address.split('/')[0] ?? '';
  if (isIP(address) === 0 || address === '0.0.0.0' || address === '::') return null;
  return { address, port: m.port };
}

function isRtpAvp(m: SdpMedia): boolean {
  return m.proto === 'RTP/AVP' || m.proto === 'RTP/AVPF';
}

/** Parse SDP from the network; a syntax error becomes a {@link NegotiationError} (400). */
export function parseSdpBody(body: Buffer | string): Sdp {
  try {
    return Sdp.parse(typeof body === 'string' ? body : body.toString('utf8'));
  } catch (e) {
    if (e instanceof SdpError) throw new NegotiationError(`bad SDP: ${e.message}`, 400);
    throw e;
  }
}

/** The outcome of answering an offer. */
export interface OfferAnswer {
  audio: NegotiatedAudio;
  /** Index of the accepted m= section. */
  index: number;
  /** Number of m= sections in the offer (the answer has as many). */
  sections: Array<{ kind: string; proto: string; formats: string[] }>;
}

/**
 * Picks the first audio RTP/AVP section with a codec we accept (the offerer's order decides, RFC
 * 3264 section 6.1) and telephone-event if offered. Throws {@link NegotiationError} when nothing fits.
 */
export function answerOffer(offer: Sdp, policy: NegotiationPolicy = DEFAULT_POLICY): OfferAnswer {
  const sections = offer.media.map((m) => ({ kind: m.kind, proto: m.proto, formats: m.formats }));
  for (let i = 0; i < offer.media.length; i++) {
    const m = offer.media[i]!;
    if (m.kind !== 'audio' || m.rejected || !isRtpAvp(m)) continue;
    let chosen: { codec: NarrowbandCodec; pt: number } | undefined;
    let te: number | undefined;
    for (const f of m.formats) {
      const pt = Number(f);
      if (!/^[0-9]{1,3}$/.test(f) || pt > 127) continue;
      const c = codecOf(m, pt);
      if (c === 'telephone-event') te ??= pt;
      else if (c !== undefined && policy.codecs.includes(c)) chosen ??= { codec: c, pt };
    }
    if (!chosen) continue;
    return {
      index: i,
      sections,
      audio: {
        codec: chosen.codec,
        payloadType: chosen.pt,
        telephoneEvent: te,
        ptime: clampPtime(m.ptime, policy.ptime),
        remote: remoteOf(offer, m),
        direction: reverse(offer.directionOf(m)),
      },
    };
  }
  throw new NegotiationError(`no audio stream with a codec we take (${policy.codecs.join(', ')})`, 488);
}

/** Session-level identity of our SDP: the o= line's id and version (bumped on every change). */
export interface SdpOriginState {
  sessionId: string;
  version: number;
}

function addrType(address: string): string {
  return isIP(address) === 6 ? 'IP6' : 'IP4';
}

function head(local: RtpAddress, origin: SdpOriginState): string[] {
  const t = addrType(local.address);
  return [
    'v=0',
    `o=sipmedia ${origin.sessionId} ${origin.version} IN ${t} ${local.address}`,
    's=sipmedia',
    `c=IN ${t} ${local.address}`,
    't=0 0',
  ];
}

function audioLines(local: RtpAddress, format: AudioFormat, direction: SdpDirection): string[] {
  const fmts = [String(format.payloadType)];
  if (format.telephoneEvent !== undefined) fmts.push(String(format.telephoneEvent));
  const out = [`m=audio ${local.port} RTP/AVP ${fmts.join(' ')}`];
  out.push(`a=rtpmap:${format.payloadType} ${format.codec}/8000`);
  if (format.telephoneEvent !== undefined) {
    out.push(`a=rtpmap:${format.telephoneEvent} telephone-event/8000`);
    out.push(`a=fmtp:${format.telephoneEvent} 0-15`);
  }
  out.push(`a=ptime:${format.ptime}`, `a=${direction}`);
  return out;
}

/** The answer to {@link answerOffer}'s offer with our RTP address. */
export function buildAnswer(oa: OfferAnswer, local: RtpAddress, origin: SdpOriginState): string {
  const lines = head(local, origin);
  oa.sections.forEach((s, i) => {
    if (i === oa.index) lines.push(...audioLines(local, oa.audio, oa.audio.direction));
    else lines.push(`m=${s.kind} 0 ${s.proto} ${s.formats.join(' ') || '0'}`);
  });
  return `${lines.join('\r\n')}\r\n`;
}

/**
 * An offer of our own (delayed-offer INVITEs, the bridge's second leg): the codecs in order, each with its
 * static payload type, and telephone-event.
 */
export function buildOffer(
  local: RtpAddress,
  origin: SdpOriginState,
  codecs: readonly NarrowbandCodec[],
  ptime: number,
): string {
  const lines = head(local, origin);
  const pts = codecs.map((c) => STATIC_PT[c]);
  lines.push(`m=audio ${local.port} RTP/AVP ${[...pts, TE_DEFAULT_PT].join(' ')}`);
  for (const c of codecs) lines.push(`a=rtpmap:${STATIC_PT[c]} ${c}/8000`);
  lines.push(`a=rtpmap:${TE_DEFAULT_PT} telephone-event/8000`, `a=fmtp:${TE_DEFAULT_PT} 0-15`);
  lines.push(`a=ptime:${ptime}`, 'a=sendrecv');
  return `${lines.join('\r\n')}\r\n`;
}

/**
 * Reads the answer to an offer from {@link buildOffer}: the first audio section must accept one of the
 * offered codecs. Throws {@link NegotiationError} otherwise.
 */
export function readAnswer(
  answer: Sdp,
  offered: readonly NarrowbandCodec[],
  defaultPtime: number,
): NegotiatedAudio {
  const m = answer.media.find((x) => x.kind === 'audio');
  if (!m || m.rejected) throw new NegotiationError('answer rejected the audio stream', 488);
  let chosen: { codec: NarrowbandCodec; pt: number } | undefined;
  let te: number | undefined;
  for (const f of m.formats) {
    const pt = Number(f);
    if (!/^[0-9]{1,3}$/.test(f) || pt > 127) continue;
    const c = codecOf(m, pt);
    if (c === 'telephone-event') te ??= pt;
    else if (c !== undefined && offered.includes(c)) chosen ??= { codec: c, pt };
  }
  if (!chosen) throw new NegotiationError('answer has none of the offered codecs', 488);
  return {
    codec: chosen.codec,
    payloadType: chosen.pt,
    telephoneEvent: te,
    ptime: clampPtime(m.ptime, defaultPtime),
    remote: remoteOf(answer, m),
    direction: reverse(answer.directionOf(m)),
  };
}
