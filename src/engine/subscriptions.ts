/**
 * Media subscriptions (ng `publish`, `subscribe request`, `subscribe answer`, `unsubscribe`): a third party
 * receives a copy of what one or more call participants (or a publisher) send, as its own monologue in the
 * call. The request creates the subscriber's legs and a sendonly offer mirroring each subscribed media section
 * (the codecs in use); the answer points those legs at the subscriber and starts copying: a tap on each source
 * leg sends every packet (after decryption, as forwarded) out through the matching subscriber leg as well.
 * Nothing the subscriber sends is forwarded anywhere. A publisher is a participant without a peer: its SDP is
 * answered recvonly with one codec per section.
 */
import { randomBytes } from 'node:crypto';
import type { PacketTap, RelayLeg } from '../dataplane/relay-leg.js';
import { type NarrowbandCodec, narrowbandCodec, payloadConverter } from '../media/narrowband-convert.js';
import type { Sdp, SdpMedia } from '../wire/sdp.js';
import { splitAttribute } from '../wire/sdp-fields.js';
import { rtpPayloadEnd, rtpPayloadOffset } from '../wire/rtp.js';
import type { MediaSide, Monologue } from './call.js';
import { codecOf } from './codec-filter.js';

/** What a subscriber monologue copies: per media section of it, the source section (same order). */
export interface Subscription {
  sources: MediaSide[];
  /** The payload types offered to the subscriber, per section (its answer must take them all). */
  offered: string[][];
  /** The source sections' m= lines (codec names of the offered payload types). */
  media: SdpMedia[];
  /**
   * Per section, payload type the source sends -> conversion to a codec the subscriber took (`allow
   * transcoding`, between PCMU, PCMA and G.722); copies of other payload types go as they are.
   */
  convert: Map<number, { toPt: number; convert: (p: Uint8Array) => void }>[];
  /** Installed copy taps, to take off again. */
  taps: { leg: RelayLeg; tap: PacketTap }[];
}

/** A fresh subscription tag, as rtpengine generates them (64 hex digits). */
export function newSubscriptionTag(): string {
  return randomBytes(32).toString('hex');
}

/** Attribute lines copied from a source section into the subscriber's offer (per kept payload type). */
const PER_FORMAT = new Set(['rtpmap', 'fmtp']);

/**
 * The payload types of a source section in use: the source's own list, narrowed to those its peer's SDP kept
 * on the same m= line when there is one (an offerer's unanswered formats are not in use).
 */
export function formatsInUse(source: SdpMedia, peer: SdpMedia | undefined): string[] {
  if (!peer || peer.port === 0) return source.formats;
  const kept = new Set(peer.formats);
  const both = source.formats.filter((f) => kept.has(f));
  return both.length > 0 ? both : source.formats;
}

export interface SubscribedSection {
  side: MediaSide;
  /** The source's m= line as its party's SDP gave it (its rtpmap/fmtp/ptime lines are copied). */
  media: SdpMedia;
  /** The payload types in use, in order. */
  formats: string[];
}

/**
 * The one payload type a published section is answered with: the first of `accept` (codec names, in order of
 * preference) the publisher offers, else its first format, as rtpengine picks.
 */
export function publishedFormat(m: SdpMedia, accept: string[]): string {
  for (const want of accept) {
    const hit = m.formats.find((pt) => codecOf(m, Number(pt))?.encoding.toUpperCase() === want.toUpperCase());
    if (hit !== undefined) return hit;
  }
  return m.formats[0] ?? '0';
}

/**
 * An SDP of our own, one m= line per section on our ports: the sendonly offer to a subscriber, or the
 * recvonly answer to a publisher.
 */
export function generatedSdp(
  sections: SubscribedSection[],
  legs: { rtpPort: number; rtcpPort: number }[],
  address: string,
  family: 4 | 6,
  direction: 'sendonly' | 'recvonly',
): string {
  const ip = family === 6 ? 'IP6' : 'IP4';
  const id = BigInt.asUintN(63, randomBytes(8).readBigUInt64BE()).toString();
  const out = [`v=0`, `o=- ${id} ${id} IN ${ip} ${address}`, 's=sipmedia', 't=0 0'];
  for (const [i, s] of sections.entries()) {
    const formats = s.formats;
    const proto = /SAVP|TLS/i.test(s.side.proto) ? 'RTP/AVP' : s.side.proto;
    out.push(`m=${s.media.kind} ${legs[i]!.rtpPort} ${proto} ${formats.join(' ')}`, `c=IN ${ip} ${address}`);
    for (const l of s.media.lines) {
      if (l.type !== 'a') continue;
      const a = splitAttribute(l.value);
      if (
        PER_FORMAT.has(a.name)
          ? formats.includes(a.value.split(/\s/)[0] ?? '')
          : a.name === 'ptime' || a.name === 'maxptime'
      )
        out.push(`a=${l.value}`);
    }
    out.push(`a=${direction}`, `a=rtcp:${legs[i]!.rtcpPort}`);
  }
  return `${out.join('\r\n')}\r\n`;
}

/** Starts copying: every packet a source party sends also goes out to the subscriber (RTP and RTCP). */
export function startCopying(sub: Subscription, subscriber: Monologue): void {
  stopCopying(sub);
  for (const [i, source] of sub.sources.entries()) {
    const from = source.pair;
    const to = subscriber.media[i]?.pair;
    if (!from || !to) continue;
    const conversions = sub.convert[i];
    const rtpTap: PacketTap = (msg, _leg, isRtcp) => {
      // RTCP multiplexed on the source's RTP port goes to the subscriber's RTCP port (no rtcp-mux offered).
      if (isRtcp) to.rtcp.sendToParty(msg);
      else to.rtp.sendToParty(conversions?.size ? converted(msg, conversions) : msg);
      return true;
    };
    const rtcpTap: PacketTap = (msg) => {
      to.rtcp.sendToParty(msg);
      return true;
    };
    for (const [leg, tap] of [
      [from.rtp, rtpTap],
      [from.rtcp, rtcpTap],
    ] as const) {
      leg.taps = [...leg.taps, tap];
      leg.onChange?.(leg);
      sub.taps.push({ leg, tap });
    }
  }
}

/** A converted copy of an RTP packet whose payload type has a conversion (else the packet itself). */
function converted(msg: Buffer, conversions: Subscription['convert'][number]): Buffer {
  const c = conversions.get(msg[1]! & 0x7f);
  const start = rtpPayloadOffset(msg);
  const end = start < 0 ? -1 : rtpPayloadEnd(msg, start);
  if (!c || start < 0 || end < start) return msg;
  const copy = Buffer.from(msg);
  c.convert(copy.subarray(start, end));
  copy[1] = (copy[1]! & 0x80) | c.toPt;
  return copy;
}

/**
 * For `allow transcoding`: conversions from each offered codec the subscriber did not take to the first
 * PCMU/PCMA/G.722 it did take (`answer` is its m= line). Empty when nothing needs or allows conversion.
 */
export function copyConversions(
  offered: SdpMedia,
  formats: string[],
  answer: SdpMedia,
): Subscription['convert'][number] {
  const out: Subscription['convert'][number] = new Map();
  const codec = (m: SdpMedia, pt: string): NarrowbandCodec | undefined => {
    const c = codecOf(m, Number(pt));
    return c ? narrowbandCodec(c.encoding, c.clockRate) : undefined;
  };
  const target = answer.formats
    .map((pt) => ({ pt: Number(pt), codec: codec(answer, pt) }))
    .find((x) => x.codec);
  if (!target?.codec) return out;
  for (const pt of formats) {
    if (answer.formats.includes(pt)) continue;
    const from = codec(offered, pt);
    const c = from ? payloadConverter(from, target.codec) : undefined;
    if (c) out.set(Number(pt), { toPt: target.pt, convert: (p) => c.convert(p) });
  }
  return out;
}

/**
 * After an offer or answer: a source section that moved to new legs (a re-offer that relocated its ports)
 * gets its copy taps again, so an answered subscription follows it.
 */
export function followSources(sub: Subscription, subscriber: Monologue): void {
  if (!subscriber.sdp) return;
  const tapped = new Set(sub.taps.map((t) => t.leg));
  if (sub.sources.some((s) => s.pair && !tapped.has(s.pair.rtp))) startCopying(sub, subscriber);
}

/** Takes the copy taps off the source legs. */
export function stopCopying(sub: Subscription): void {
  for (const { leg, tap } of sub.taps.splice(0)) {
    if (leg.closed) continue;
    leg.taps = leg.taps.filter((t) => t !== tap);
    leg.onChange?.(leg);
  }
}

/** The subscribed parties' m= lines, in the order of their SDPs (sections without legs are left out). */
export function subscribedSections(sources: Monologue[], parse: (sdp: string) => Sdp): SubscribedSection[] {
  const out: SubscribedSection[] = [];
  for (const m of sources) {
    if (!m.sdp) continue;
    const sdp = parse(m.sdp);
    const peerSdp = m.peer?.sdp ? parse(m.peer.sdp) : undefined;
    for (const [i, media] of sdp.media.entries()) {
      const side = m.media[i];
      if (!side?.pair || media.port === 0) continue;
      const published = m.published?.[i];
      const formats = published !== undefined ? [published] : formatsInUse(media, peerSdp?.media[i]);
      out.push({ side, media, formats });
    }
  }
  return out;
}
