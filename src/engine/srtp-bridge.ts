/**
 * SDES-SRTP terminated by the proxy, between a party speaking RTP/SAVP(F) and one speaking RTP/AVP(F)
 * (ng `transport-protocol` on the offer). The SRTP party's side carries an {@link SdesState}: the `a=crypto`
 * lines we gave it (our keys: what we encrypt with towards it) and, once both are known, one context that
 * decrypts what it sends (its key) and one that encrypts what we send to it. The native dataplane then does
 * SRTP in its worker for that party's legs (session keys handed over with `setSrtp`); otherwise its legs get a
 * tap that decrypts arriving SRTP/SRTCP before every other duty and a `protect` that encrypts everything sent
 * to it, forwarded or generated (playback, DTMF), and the plain party's legs a pass-through tap that keeps
 * their packets in JavaScript. Packets that fail authentication are dropped and counted as errors of the leg
 * they arrived on. Kernel offload leaves both parties' legs alone.
 *
 * Offer AVP -> SAVP: the recipient is offered AES_CM_128_HMAC_SHA1_80 (tag 1) and _32 (tag 2), each with a
 * key of ours; its answer picks one and brings its own key. Offer SAVP -> AVP: the offerer's first line with
 * a suite we support is accepted now; the answer it gets carries that tag and suite with a key of ours.
 */
import { randomBytes } from 'node:crypto';
import type { PacketTap, RelayLeg } from '../dataplane/relay-leg.js';
import { SRTP_SUITES, SrtpContext, type SrtpSuite, sessionMaterial, tagBytes } from '../media/srtp.js';
import type { SdpMedia } from '../wire/sdp.js';
import { formatCryptoAttribute, parseCryptoAttribute } from '../wire/sdp-crypto.js';
import type { MediaSide } from './call.js';
import type { MediaPlan } from './sdp-rewrite.js';
import type { SignalOptions } from './options.js';

export interface CryptoLine {
  tag: number;
  suite: SrtpSuite;
  /** base64 of master key || master salt (30 bytes). */
  inline: string;
}

export interface SdesState {
  /** Our lines: offered to the party (all), or answered / in use (one). */
  ours: CryptoLine[];
  /** Decrypts what the party sends; encrypts what we send it. Set once both keys are known. */
  rx?: SrtpContext;
  tx?: SrtpContext;
  /** The party's key the current `rx` was made from (a re-offer with the same key keeps the context). */
  theirs?: string;
  /**
   * Keys of the RTCP component's own DTLS association (RFC 5764 4.1: a peer that does not multiplex RTCP
   * may key it with a handshake on the RTCP ports): the RTCP leg uses these instead.
   */
  rtcp?: SdesState;
}

export const isSecure = (proto: string): boolean => /^RTP\/SAVPF?$/i.test(proto);
export const isPlainRtp = (proto: string): boolean => /^RTP\/AVPF?$/i.test(proto);

/** `a=crypto` lines of a media section we can use: a suite we support and 30 bytes of key material. */
export function cryptoLines(m: SdpMedia): CryptoLine[] {
  const out: CryptoLine[] = [];
  for (const l of m.lines) {
    const c = l.type === 'a' ? parseCryptoAttribute(l.value) : undefined;
    const suite = SRTP_SUITES.find((s) => s === c?.suite);
    if (c && suite && Buffer.from(c.inline, 'base64').length === 30) out.push({ ...c, suite });
  }
  return out;
}

function newKey(): string {
  return randomBytes(30).toString('base64');
}

/** The lines we offer to an SRTP recipient, of the suites allowed (kept over re-offers). */
export function offerLines(
  prev: SdesState | undefined,
  allowed: readonly SrtpSuite[] = SRTP_SUITES,
): CryptoLine[] {
  const kept = prev?.ours.filter((o) => allowed.includes(o.suite));
  if (kept?.length) return kept;
  return allowed.map((suite, i) => ({ tag: i + 1, suite, inline: newKey() }));
}

/**
 * The SRTP offerer's side: accept its first usable line (contexts ready at once) and answer with the same tag
 * and suite and a key of ours; undefined when it offers nothing we support.
 */
export function acceptOffer(
  m: SdpMedia,
  prev: SdesState | undefined,
  allowed: readonly SrtpSuite[] = SRTP_SUITES,
): SdesState | undefined {
  const theirs = cryptoLines(m).find((c) => allowed.includes(c.suite));
  if (!theirs) return undefined;
  const keep =
    prev?.ours.length === 1 && prev.ours[0]!.tag === theirs.tag && prev.ours[0]!.suite === theirs.suite;
  const ours = keep ? prev!.ours[0]! : { tag: theirs.tag, suite: theirs.suite, inline: newKey() };
  const same = keep && prev?.theirs === theirs.inline && prev.rx && prev.tx;
  return {
    ours: [ours],
    theirs: theirs.inline,
    rx: same ? prev!.rx : SrtpContext.fromInline(theirs.suite, theirs.inline),
    tx: same ? prev!.tx : SrtpContext.fromInline(ours.suite, ours.inline),
  };
}

/**
 * The SRTP answerer's side, once its answer arrived: the line it picked among ours; undefined when it answered
 * without SRTP or with nothing we offered.
 */
export function acceptAnswer(m: SdpMedia, state: SdesState): SdesState | undefined {
  for (const theirs of cryptoLines(m)) {
    const ours = state.ours.find((o) => o.tag === theirs.tag && o.suite === theirs.suite);
    if (!ours) continue;
    const same = state.theirs === theirs.inline && state.rx && state.tx && state.ours.length === 1;
    return {
      ours: [ours],
      theirs: theirs.inline,
      rx: same ? state.rx : SrtpContext.fromInline(theirs.suite, theirs.inline),
      tx: same ? state.tx : SrtpContext.fromInline(ours.suite, ours.inline),
    };
  }
  return undefined;
}

const isRtcpPacket = (p: Buffer): boolean => p.length > 1 && p[1]! >= 192 && p[1]! <= 223;

/** What we install on a leg, to find and remove it again. */
const installed = new WeakMap<RelayLeg, PacketTap>();

function install(leg: RelayLeg, tap: PacketTap | undefined, protect: RelayLeg['protect']): void {
  const old = installed.get(leg);
  if (old === tap && leg.protect === protect) return;
  const others = leg.taps.filter((t) => t !== old);
  // Decryption goes first: every other duty sees plain RTP.
  leg.taps = tap ? [tap, ...others] : others;
  if (tap) installed.set(leg, tap);
  else installed.delete(leg);
  leg.protect = protect;
  leg.onChange?.(leg);
}

const passThrough: PacketTap = () => true;

/** What the dataplane was given for a leg (native SRTP), so a new signal with the same keys changes nothing. */
const inDataplane = new WeakMap<RelayLeg, string>();

/** The keys a leg uses: the RTCP component's own (DTLS without rtcp-mux) on the RTCP leg, else the section's. */
function keysOf(s: SdesState, leg: RelayLeg): SdesState {
  return leg.isRtcp && s.rtcp?.rx && s.rtcp.tx ? s.rtcp : s;
}

/** Hands a leg's SRTP to its dataplane (the native worker), or takes it back; false when it cannot. */
function dataplaneSrtp(leg: RelayLeg, s: SdesState | undefined): boolean {
  const ours = s?.ours[0];
  const key = s?.theirs && ours ? `${ours.suite}|${s.theirs}|${ours.inline}` : '';
  const had = inDataplane.get(leg);
  if (!key) {
    if (had) leg.setSrtp?.(null, null, 0);
    inDataplane.delete(leg);
    return false;
  }
  if (had === key) return true;
  if (!leg.setSrtp?.(sessionMaterial(s!.theirs!), sessionMaterial(ours!.inline), tagBytes(ours!.suite))) {
    inDataplane.delete(leg);
    return false;
  }
  inDataplane.set(leg, key);
  return true;
}

/**
 * Puts the SRTP duties of a media section's two sides on their legs (or takes them off). The native
 * dataplane decrypts and encrypts in its worker (every path, forwarded, tapped or generated); otherwise a
 * decrypting tap and `protect` do it in JavaScript, and the plain party's legs get a pass-through tap so their
 * packets take that path too.
 */
export function bridgeSrtp(a: MediaSide, b: MediaSide): void {
  const js = new Map<MediaSide, boolean>();
  for (const side of [a, b]) {
    const s = side.sdes;
    const active = s?.rx !== undefined && s.tx !== undefined;
    const legs = side.pair ? [side.pair.rtp, side.pair.rtcp] : [];
    const done = legs.map((l) => dataplaneSrtp(l, active ? keysOf(s!, l) : undefined));
    const native = legs.length > 0 && done.every(Boolean);
    // All or nothing: a leg the dataplane took while its partner could not goes back (JavaScript does both).
    if (!native) for (const [i, l] of legs.entries()) if (done[i]) dataplaneSrtp(l, undefined);
    js.set(side, active && !native);
  }
  for (const [side, peer] of [
    [a, b],
    [b, a],
  ] as const) {
    const legs = side.pair ? [side.pair.rtp, side.pair.rtcp] : [];
    for (const leg of legs) {
      if (js.get(side)) {
        const k = keysOf(side.sdes!, leg);
        const rx = k.rx!;
        const tx = k.tx!;
        const tap: PacketTap = (msg, l, isRtcp) => {
          const plain = isRtcp ? rx.unprotectRtcp(msg) : rx.unprotectRtp(msg);
          if (!plain) (isRtcp ? l.rtcp : l.rtp).errors++;
          return plain ?? false;
        };
        install(leg, tap, (msg) =>
          leg.isRtcp || isRtcpPacket(msg) ? tx.protectRtcp(msg) : tx.protectRtp(msg),
        );
      } else install(leg, js.get(peer) ? passThrough : undefined, null);
    }
  }
}

/** The offer's part: which side terminates SRTP, and what the recipient's m= section says. */
export function planSrtpOffer(
  m: SdpMedia,
  from: MediaSide,
  to: MediaSide,
  target: SignalOptions['transportProtocol'],
  warnings: string[],
  suites?: readonly SrtpSuite[],
): MediaPlan['srtp'] {
  const fromSecure = isSecure(m.proto);
  // DTLS targets are engine/dtls-bridge's (from plain RTP only): anything else is left as offered.
  const dtlsTarget = target?.toUpperCase().startsWith('UDP/TLS/') === true;
  if (!target || dtlsTarget || (!fromSecure && !isPlainRtp(m.proto)) || fromSecure === isSecure(target)) {
    if (target && target.toUpperCase() !== m.proto.toUpperCase())
      warnings.push(
        `Transport protocol conversion from '${m.proto}' to '${target}' is not supported: left as offered`,
      );
    from.sdes = undefined;
    to.sdes = undefined;
    return undefined;
  }
  const allowed = suites ?? SRTP_SUITES;
  if (allowed.length === 0) {
    warnings.push('SDES flags leave no crypto suite: protocol left as offered');
    from.sdes = undefined;
    to.sdes = undefined;
    return undefined;
  }
  if (!fromSecure) {
    // Plain offerer, SRTP recipient: offer our keys; the answer completes the contexts.
    from.sdes = undefined;
    to.sdes = { ...to.sdes, ours: offerLines(to.sdes, allowed) };
    to.proto = target;
    return { proto: target, crypto: to.sdes.ours.map(formatCryptoAttribute) };
  }
  const st = acceptOffer(m, from.sdes, allowed);
  if (!st) {
    warnings.push(
      `No SDES crypto suite we support (${allowed.join(', ')}) in the offer: protocol left as offered`,
    );
    from.sdes = undefined;
    to.sdes = undefined;
    return undefined;
  }
  from.sdes = st;
  to.sdes = undefined;
  to.proto = target;
  return { proto: target, crypto: [] };
}

/** The answer's part: complete the SRTP answerer's contexts, or give the SRTP offerer our key. */
export function planSrtpAnswer(
  m: SdpMedia,
  offerer: MediaSide,
  answerer: MediaSide,
  warnings: string[],
): MediaPlan['srtp'] {
  if (answerer.sdes) {
    const st = isSecure(m.proto) ? acceptAnswer(m, answerer.sdes) : undefined;
    if (!st && isSecure(m.proto))
      warnings.push('The answer picked no SDES crypto line that was offered: SRTP not terminated');
    answerer.sdes = st;
    return st ? { proto: offerer.proto, crypto: [] } : undefined;
  }
  if (offerer.sdes && isPlainRtp(m.proto))
    return { proto: offerer.proto, crypto: offerer.sdes.ours.map(formatCryptoAttribute) };
  return undefined;
}
