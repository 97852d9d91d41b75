/**
 * Builds the SDP a recipient gets: the sender's SDP with our address and ports in place of the sender's.
 * Line order is kept; per media section the attributes we own (direction, rtcp, rtcp-mux) are re-emitted at
 * the end in rtpengine's order, so Kamailio setups see the same SDP shape as with rtpengine.
 */
import { type Sdp, type SdpLine, type SdpMedia, iceAttributeNames, isDirection } from '../wire/sdp.js';
import type { MediaSide } from './call.js';
import { STATIC_PAYLOADS } from './static-payloads.js';
import type { SignalOptions } from './options.js';
import { type DtlsState, dtlsAnswerAttributes } from './dtls-bridge.js';
import { addEventsFormat } from './dtmf-bridge.js';
import { withAddedFormats } from './transcode.js';

export interface MediaPlan {
  /** The legs the recipient will send to (undefined: section rejected). */
  side: MediaSide | undefined;
  /** Tell the recipient to multiplex RTCP on the RTP port. */
  mux: boolean;
  /** Advertise the RTP port as the RTCP port (mux required or accepted). */
  rtcpOnRtpPort: boolean;
  /** Payload types to remove from the section (codec strip/mask). */
  removeFormats?: number[];
  /** Static payload types to add (codec transcode, offer only). */
  addFormats?: number[];
  /** telephone-event added with this payload type (engine/dtmf-bridge, offer only). */
  addEvents?: number;
  /** A payload type answered in place of another: [answered, what the recipient gets] (transcoding). */
  replaceFormat?: [number, number];
  /**
   * SRTP terminated here: the recipient's protocol, and the `a=crypto` values it gets (none: plain); with
   * `dtls`, a browser is answered with our ICE-lite candidate and DTLS fingerprint (engine/dtls-bridge).
   */
  srtp?: { proto: string; crypto: string[]; dtls?: DtlsState };
}

export interface RewritePlan {
  address: string;
  family: 4 | 6;
  media: MediaPlan[];
  isOffer: boolean;
  opts: SignalOptions;
}

/** Attributes the rewriter owns and places itself; all others keep their relative order. */
const CODEC_ORDER = ['rtpmap', 'fmtp', 'rtcp-fb'] as const;
const CODEC_ATTRIBUTES: ReadonlySet<string> = new Set(CODEC_ORDER);

function attrName(value: string): string {
  const c = value.indexOf(':');
  return c < 0 ? value : value.slice(0, c);
}

function attrPayload(value: string): string {
  const c = value.indexOf(':');
  if (c < 0) return '';
  const sp = value.indexOf(' ', c + 1);
  return sp < 0 ? value.slice(c + 1) : value.slice(c + 1, sp);
}

/** A codec attribute with its name and payload type read once. */
interface CodecAttribute {
  value: string;
  name: string;
  payload: string;
}

/**
 * rtpengine's layout of a media section: non-attribute lines, other attributes in their order, codec
 * attributes in m= format order (with rtpmaps for static payload types filled in), direction, rtcp,
 * rtcp-mux, ptime. `owned` ends before rtcp; `tail` (ptime) goes after rtcp-mux. Each attribute is split
 * once: this runs for every offer and answer.
 */
function layoutAttributes(m: SdpMedia, plan: RewritePlan, index: number, direction: string) {
  const head: SdpLine[] = [];
  const keepDirection = plan.opts.originalSendrecv === true;
  const owned: string[] = [];
  const tail: string[] = [];
  if (plan.isOffer && plan.opts.generateMid && m.mid === undefined) owned.push(`mid:${index + 1}`);
  const codec: CodecAttribute[] = [];
  const rtp = carriesRtcp(m);
  for (const l of m.lines) {
    if (l.type !== 'a') {
      head.push(l);
      continue;
    }
    const a = l.value;
    const name = attrName(a);
    if (iceAttributeNames.has(name) || name === 'rtcp' || name === 'rtcp-mux') continue;
    // SRTP terminated here: the sender's keys are not the recipient's business (ours are added below).
    if ((name === 'crypto' || name === 'fingerprint' || name === 'setup') && plan.media[index]?.srtp)
      continue;
    if (isDirection(name) && !keepDirection) continue;
    if (name === 'ptime') tail.push(a);
    else if (CODEC_ATTRIBUTES.has(name) && rtp) codec.push({ value: a, name, payload: attrPayload(a) });
    else owned.push(a);
  }
  if (rtp) {
    const formats = m.formats;
    for (const fmt of formats) {
      const hasRtpmap = codec.some((c) => c.payload === fmt && c.name === 'rtpmap');
      const pt = Number(fmt);
      if (!hasRtpmap && STATIC_PAYLOADS.has(pt)) owned.push(`rtpmap:${pt} ${STATIC_PAYLOADS.get(pt)}`);
      for (const n of CODEC_ORDER)
        for (const c of codec) if (c.payload === fmt && c.name === n) owned.push(c.value);
    }
    // Codec attributes for payload types not in m= (or wildcard rtcp-fb) stay, after the listed ones.
    for (const c of codec) if (!formats.includes(c.payload)) owned.push(c.value);
  }
  if (!keepDirection) owned.push(direction);
  return { head, owned, tail };
}

/** Puts `to` where `from` was (its attributes go; a static `to` gets its rtpmap in the layout). */
function replaceFormat(m: SdpMedia, [from, to]: [number, number]): void {
  const at = m.formats.indexOf(String(from));
  if (at < 0) return;
  m.removeFormats([from, to]);
  const formats = m.formats;
  formats.splice(Math.min(at, formats.length), 0, String(to));
  m.formats = formats;
}

function carriesRtcp(m: SdpMedia): boolean {
  return m.proto.toUpperCase().includes('RTP');
}

export function rewriteSdp(sdp: Sdp, plan: RewritePlan): string {
  const out = sdp.clone();
  const addrType = plan.family === 6 ? 'IP6' : 'IP4';
  const conn = { netType: 'IN', addrType, address: plan.address };
  const o = out.origin;
  if (o && plan.opts.replaceOrigin) out.origin = { ...o, addrType, address: plan.address };

  out.session.removeAttrs((name) => iceAttributeNames.has(name));
  // Terminated DTLS: the browser's certificate and role are nobody else's business; towards it we are ICE-lite.
  if (plan.media.some((p) => p?.srtp))
    out.session.removeAttrs((name) => name === 'fingerprint' || name === 'setup');
  if (plan.media.some((p) => p?.srtp?.dtls?.advertiseIce)) out.session.addAttr('ice-lite');
  const needsSession = out.media.some((m, i) => !m.connection && plan.media[i]?.side !== undefined);
  if (out.session.connection && (needsSession || plan.opts.replaceSessionConnection))
    out.session.connection = conn;

  out.media.forEach((m, i) => {
    const p = plan.media[i];
    if (!p?.side?.pair) {
      // A rejected section goes out bare, as rtpengine sends it.
      m.lines = m.lines.slice(0, 1);
      m.port = 0;
      return;
    }
    if (p.removeFormats?.length) m.removeFormats(p.removeFormats);
    if (p.addFormats?.length) m.formats = withAddedFormats(m, p.addFormats);
    if (p.addEvents !== undefined) addEventsFormat(m, p.addEvents);
    if (p.replaceFormat) replaceFormat(m, p.replaceFormat);
    if (p.srtp) m.proto = p.srtp.proto;
    const rtpPort = p.side.pair.rtp.localPort;
    m.port = rtpPort;
    if (m.connection) m.connection = conn;
    const direction = m.direction ?? out.session.direction ?? 'sendrecv';
    const attrs = layoutAttributes(m, plan, i, direction);
    const rtp = carriesRtcp(m);
    if (rtp) {
      const mode = plan.opts.rtcpAttribute ?? 'default';
      const rtcpPort = p.rtcpOnRtpPort ? rtpPort : rtpPort + 1;
      if (mode === 'full') attrs.owned.push(`rtcp:${rtcpPort} IN ${addrType} ${plan.address}`);
      else if (mode === 'default') attrs.owned.push(`rtcp:${rtcpPort}`);
      if (p.mux) attrs.owned.push('rtcp-mux');
    }
    for (const c of p.srtp?.crypto ?? []) attrs.owned.push(c);
    if (p.srtp?.dtls) attrs.owned.push(...dtlsAnswerAttributes(p.srtp.dtls, plan.address, rtpPort));
    for (const a of attrs.tail) attrs.owned.push(a);
    const lines = attrs.head;
    for (const value of attrs.owned) lines.push({ type: 'a', value });
    m.lines = lines;
  });
  return out.toString();
}
