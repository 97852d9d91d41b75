/**
 * WebRTC's media (UDP/TLS/RTP/SAVPF: ICE, DTLS-SRTP, rtcp-mux) terminated by the proxy towards a browser, plain
 * RTP towards the other party, in both directions: a browser's offer with ng `transport-protocol: RTP/AVP`, or
 * a plain offer with `transport-protocol: UDP/TLS/RTP/SAVPF` (as Kamailio's WebRTC routes send them; the
 * `WebRTC` flag picks one). The browser's side carries a {@link DtlsState}; the plain side never sees the
 * browser's fingerprint or ICE lines. The browser gets our ICE-lite credentials and host candidate
 * (engine/ice-lite), our certificate's fingerprint and `a=setup:passive` (answering) or `actpass` (offering;
 * it must answer `active`): it checks our candidate, we answer its checks (and its consent checks for the rest
 * of the call), it opens DTLS with us as the server, and the keys the handshake exports make the SRTP contexts
 * of engine/srtp-bridge (in the native worker when it can). Until then nothing passes in either direction. A
 * browser whose certificate does not match its SDP's fingerprint gets no media.
 */
import { createHash } from 'node:crypto';
import { type DtlsHandle, loadNativeRelay } from '../dataplane/native/addon.js';
import type { Endpoint, PacketProtect, PacketTap, RelayLeg } from '../dataplane/relay-leg.js';
import { SrtpContext, type SrtpSuite } from '../media/srtp.js';
import type { Sdp, SdpMedia } from '../wire/sdp.js';
import type { MediaSide } from './call.js';
import { answerBinding, type IceCredentials, newIceCredentials } from './ice-lite.js';
import { bridgeSrtp, isPlainRtp } from './srtp-bridge.js';

export const isDtlsProto = (proto: string): boolean => /^UDP\/TLS\/RTP\/SAVPF?$/i.test(proto);

/** Longest a handshake may take from the first DTLS packet (then the browser must start again). */
const HANDSHAKE_MS = 30_000;

/** One DTLS association (we are the server): the handshake's handle, retransmission timer and outcome. */
interface Handshake {
  handle?: DtlsHandle;
  timer?: NodeJS.Timeout;
  startedAt?: number;
  /** The handshake is done (the peer is not verified by this: see DtlsState.connected). */
  finished?: boolean;
  /** Why it failed, or why media is held (kept for diagnosis). */
  error?: string;
}

/** Keys of a finished handshake, and the peer's certificate (DER) to check against its SDP's fingerprint. */
interface HandshakeKeys {
  suite: SrtpSuite;
  rx: string;
  tx: string;
  peer: Buffer;
}

export interface DtlsState extends Handshake {
  /** The handshake is done and the browser's certificate matched its SDP: SRTP is keyed, the gates are open. */
  connected: boolean;
  /** Our ICE credentials towards the browser (kept over re-offers). */
  ice: IceCredentials;
  /** The browser's certificate fingerprint, from its SDP (offering to a browser: from its answer). */
  theirFingerprint: Fingerprint | undefined;
  /** Our `a=setup`: `passive` answering a browser, `actpass` offering to one (it answers `active`). */
  setup: 'passive' | 'actpass';
  /** Our ICE-lite side is in the SDP (WebRTC recipients, `ICE=force`); DTLS next to SDES goes without. */
  advertiseIce: boolean;
  /**
   * The peer's SDP carries ICE credentials too: it checks connectivity before DTLS (RFC 8842), so DTLS and the
   * endpoint are taken only from sources whose checks passed (a stranger cannot win the race to the port).
   */
  peerIce?: boolean;
  /**
   * Hash of the fingerprint we give for our certificate (node:crypto's name): `DTLS-fingerprint`, else the one
   * the peer's offer used, else sha256.
   */
  ourHash?: string;
  /** Keys of a handshake that ended before the answer brought the fingerprint to check the browser by. */
  pending?: HandshakeKeys;
  /** The browser's transport protocol, answered back to it. */
  proto: string;
  /**
   * The RTCP component's own association (RFC 5764 4.1), when the peer does not multiplex RTCP and runs a
   * second handshake on the RTCP ports (rtpengine does); its keys key the RTCP leg's SRTCP.
   */
  rtcp?: Handshake & { pending?: HandshakeKeys };
}

/** A peer's certificate fingerprint from its SDP (RFC 8122): the hash function and the digest. */
export interface Fingerprint {
  /** node:crypto's name of the hash: sha1, sha224, sha256, sha384 or sha512. */
  hash: string;
  digest: Buffer;
}

/** Digest bytes of the hash functions we check a peer's certificate with (browsers use sha-256; some phones sha-1). */
const DIGEST_BYTES: Record<string, number> = { sha1: 20, sha224: 28, sha256: 32, sha384: 48, sha512: 64 };

/** The hash functions {@link sdpFingerprint} understands, as SDP names them (for warnings). */
export const FINGERPRINT_HASHES = 'sha-1, sha-224, sha-256, sha-384 or sha-512';

/**
 * The first `a=fingerprint` with a hash we can check (SHA-1 or SHA-2) of a media section, else of the session;
 * undefined without one. Weaker hashes (md5, md2) are not taken.
 */
export function sdpFingerprint(sdp: Sdp, m: SdpMedia): Fingerprint | undefined {
  const values = m.attrs('fingerprint');
  for (const v of values.length ? values : sdp.session.attrs('fingerprint')) {
    const hit = /^(sha-(?:1|224|256|384|512))\s+((?:[0-9A-Fa-f]{2}:)*[0-9A-Fa-f]{2})$/i.exec(v.trim());
    if (!hit) continue;
    const hash = hit[1]!.toLowerCase().replace('-', '');
    const digest = Buffer.from(hit[2]!.replaceAll(':', ''), 'hex');
    if (digest.length === DIGEST_BYTES[hash]) return { hash, digest };
  }
  return undefined;
}

const sameFingerprint = (a: Fingerprint | undefined, b: Fingerprint): boolean =>
  a !== undefined && a.hash === b.hash && a.digest.equals(b.digest);

/** Whether a certificate (DER) is the one `fp` names. */
export function certificateMatches(der: Buffer, fp: Fingerprint): boolean {
  return createHash(fp.hash).update(der).digest().equals(fp.digest);
}

const colonHex = (b: Buffer): string =>
  b
    .toString('hex')
    .toUpperCase()
    .replace(/(..)(?!$)/g, '$1:');

/**
 * The offer's part: a browser offering DTLS-SRTP to be bridged to plain RTP, or a plain offer for a browser.
 * Returns the recipient's protocol (the SRTP plan's shape: no crypto lines; with `dtls` when the recipient is
 * the browser), or undefined when this is neither.
 */
export function planDtlsOffer(
  sdp: Sdp,
  m: SdpMedia,
  from: MediaSide,
  to: MediaSide,
  target: string | undefined,
  warnings: string[],
): { proto: string; crypto: string[]; dtls?: DtlsState } | undefined {
  if (isPlainRtp(m.proto) && target && isDtlsProto(target)) return offerToBrowser(from, to, target, warnings);
  if (to.dtls) closeDtls(to);
  if (!isDtlsProto(m.proto) || !target || !isPlainRtp(target)) {
    if (from.dtls) closeDtls(from);
    return undefined;
  }
  const fp = sdpFingerprint(sdp, m);
  if (!fp) {
    warnings.push(`DTLS offer without a ${FINGERPRINT_HASHES} fingerprint: protocol left as offered`);
    if (from.dtls) closeDtls(from);
    return undefined;
  }
  if (!loadNativeRelay()?.dtlsNew) {
    warnings.push('DTLS-SRTP needs the native addon (npm install builds it): protocol left as offered');
    return undefined;
  }
  const prev = from.dtls;
  const same = sameFingerprint(prev?.theirFingerprint, fp);
  if (prev && !same) closeDtls(from);
  // A re-offer with the same certificate keeps the association and its keys.
  from.dtls = same
    ? prev
    : {
        ice: prev?.ice ?? newIceCredentials(),
        theirFingerprint: fp,
        proto: m.proto,
        connected: false,
        setup: 'passive',
        advertiseIce: true,
        peerIce: hasIceCredentials(sdp, m),
        // Answered with the hash the browser used, as rtpengine does (DTLS-fingerprint overrides it).
        ourHash: fp.hash,
      };
  if (!same) from.sdes = undefined;
  to.sdes = undefined;
  to.proto = target;
  return { proto: target, crypto: [] };
}

/**
 * Our offering side towards `to` (`actpass`): a fresh state, or the connected one a re-offer keeps (the peer
 * keeps its certificate and keys). True when it is fresh.
 */
function offering(to: MediaSide, target: string, advertiseIce: boolean): boolean {
  if (to.dtls?.connected) return false;
  if (to.dtls) closeDtls(to);
  to.dtls = {
    ice: newIceCredentials(),
    theirFingerprint: undefined,
    proto: target,
    connected: false,
    setup: 'actpass',
    advertiseIce,
  };
  return true;
}

/** A plain offer for a browser: it is offered our ICE-lite candidate and certificate; its answer completes it. */
function offerToBrowser(
  from: MediaSide,
  to: MediaSide,
  target: string,
  warnings: string[],
): { proto: string; crypto: string[]; dtls: DtlsState } | undefined {
  if (!loadNativeRelay()?.dtlsNew) {
    warnings.push('DTLS-SRTP needs the native addon (npm install builds it): protocol left as offered');
    return undefined;
  }
  if (from.dtls) closeDtls(from);
  if (offering(to, target, true)) to.sdes = undefined;
  from.sdes = undefined;
  to.proto = target;
  return { proto: target, crypto: [], dtls: to.dtls! };
}

/**
 * DTLS offered next to our SDES lines to an SRTP recipient (`actpass`, as rtpengine does unless `DTLS=off`): a
 * browser takes DTLS, an SDES endpoint takes a crypto line (engine/srtp-bridge); the answer decides
 * ({@link answerTakesDtls}). ICE is offered with it only under `ICE=force`.
 */
export function offerDtlsToo(
  plan: { proto: string; crypto: string[] },
  to: MediaSide,
  target: string,
  ice: boolean,
): { proto: string; crypto: string[]; dtls?: DtlsState } {
  if (!loadNativeRelay()?.dtlsNew) return plan;
  offering(to, target, ice);
  return { ...plan, dtls: to.dtls };
}

/** Whether the answerer (offered DTLS, maybe next to SDES) took DTLS: a fingerprint in its answer. */
export function answerTakesDtls(sdp: Sdp, m: SdpMedia, answerer: MediaSide): boolean {
  if (!answerer.dtls) return false;
  if (answerer.sdes === undefined || sdpFingerprint(sdp, m) !== undefined) return true;
  closeDtls(answerer);
  return false;
}

/**
 * The browser's answer to our offer: its fingerprint to check it by (it must take `a=setup:active`: we are
 * the DTLS server). Returns the plan that strips DTLS and ICE from the answer the plain offerer gets.
 */
export function planDtlsAnswer(
  sdp: Sdp,
  m: SdpMedia,
  offerer: MediaSide,
  answerer: MediaSide,
  warnings: string[],
): { proto: string; crypto: string[] } {
  const st = answerer.dtls!;
  answerer.sdes = undefined;
  const fp = sdpFingerprint(sdp, m);
  const setup = (m.attr('setup') ?? sdp.session.attr('setup'))?.trim().toLowerCase();
  if (!fp) warnings.push(`The answer has no ${FINGERPRINT_HASHES} fingerprint: no media towards it`);
  else if (setup !== 'active')
    warnings.push(`The answer took a=setup:${setup ?? '(none)'}: we only act as the DTLS server; no media`);
  else if (!sameFingerprint(st.theirFingerprint, fp)) {
    st.peerIce = st.advertiseIce && hasIceCredentials(sdp, m);
    st.theirFingerprint = fp;
    if (st.pending && !st.connected) open(answerer, offerer, st);
  }
  return { proto: offerer.proto, crypto: [] };
}

/** The media attributes the browser is answered with, after its codecs (the session gets `a=ice-lite`). */
export function dtlsAnswerAttributes(st: DtlsState, address: string, port: number): string[] {
  const fp = ourFingerprint(st.ourHash ?? 'sha256');
  const ice = st.advertiseIce
    ? [
        `ice-ufrag:${st.ice.ufrag}`,
        `ice-pwd:${st.ice.pwd}`,
        `candidate:1 1 UDP 2130706431 ${address} ${port} typ host`,
        'end-of-candidates',
      ]
    : [];
  return [...(fp ? [`fingerprint:${fp}`] : []), `setup:${st.setup}`, ...ice];
}

/** `sha-256 AB:CD:...`: our certificate's fingerprint with `hash` (node:crypto's name), as SDP gives it. */
export function ourFingerprint(hash: string): string | undefined {
  const der = loadNativeRelay()?.dtlsCertificate?.();
  return der
    ? `${hash.replace('sha', 'sha-')} ${colonHex(createHash(hash).update(der).digest())}`
    : undefined;
}

/** Until the handshake is done nothing reaches the browser or leaves it. */
const gate: PacketTap = () => false;
const block: PacketProtect = () => null;
const gated = new WeakSet<RelayLeg>();

function setGate(leg: RelayLeg, on: boolean): void {
  if (on === gated.has(leg)) return;
  if (on) {
    gated.add(leg);
    leg.taps = [gate, ...leg.taps];
    leg.protect = block;
  } else {
    gated.delete(leg);
    leg.taps = leg.taps.filter((t) => t !== gate);
    if (leg.protect === block) leg.protect = null;
  }
  leg.onChange?.(leg);
}

const legsOf = (s: MediaSide): RelayLeg[] => (s.pair ? [s.pair.rtp, s.pair.rtcp] : []);

/**
 * Puts the browser's side on its legs: the STUN/DTLS handler and, until the handshake ends, the gate on both
 * sides (the worker would otherwise forward the plain side's packets to the browser unencrypted). `peer` is
 * the plain side, bridged by engine/srtp-bridge once keys exist. A side without DTLS takes nothing off its
 * peer: the call with the browser side does that.
 */
export function bridgeDtls(side: MediaSide, peer: MediaSide): void {
  const st = side.dtls;
  for (const leg of legsOf(side)) {
    if (!st) {
      if (leg.onOther) leg.onOther = null;
      if (!peer.dtls) setGate(leg, false);
      continue;
    }
    leg.onOther = (msg, l, from) => onOther(side, peer, msg, l, from);
  }
  if (st) for (const leg of [...legsOf(side), ...legsOf(peer)]) setGate(leg, !st.connected);
}

const sameEndpoint = (a: Endpoint | null, b: Endpoint): boolean =>
  a !== null && a.port === b.port && a.address === b.address;

/** Sources of a leg's authenticated checks, newest last (a browser has a few candidates). */
const checkedSources = new WeakMap<RelayLeg, Endpoint[]>();
const MAX_CHECKED_SOURCES = 8;

function remember(leg: RelayLeg, from: Endpoint): Endpoint[] {
  const seen = checkedSources.get(leg) ?? [];
  checkedSources.set(leg, seen);
  if (!isChecked(seen, from)) {
    seen.push({ address: from.address, port: from.port });
    if (seen.length > MAX_CHECKED_SOURCES) seen.shift();
  }
  return seen;
}

const isChecked = (seen: Endpoint[] | undefined, ep: Endpoint | null): boolean =>
  ep !== null && (seen?.some((e) => sameEndpoint(e, ep)) ?? false);

/** The peer's SDP has ICE credentials (section or session `a=ice-ufrag`). */
function hasIceCredentials(sdp: Sdp, m: SdpMedia): boolean {
  return (m.attr('ice-ufrag') ?? sdp.session.attr('ice-ufrag')) !== undefined;
}

/** The party is reachable at `to` (an authenticated check, or its first DTLS): media to it goes there now. */
function moveEndpoint(leg: RelayLeg, to: Endpoint): void {
  if (leg.learning === 'off' || (leg.confirmed && sameEndpoint(leg.endpoint, to))) return;
  leg.endpoint = { address: to.address, port: to.port };
  leg.confirmed = true;
  leg.onChange?.(leg);
}

/**
 * STUN and DTLS from the browser's side, from whichever of its candidates sent them (the dataplane does not
 * learn from these). A check is answered where it came from (RFC 8445 7.3); an authenticated one confirms an
 * endpoint not yet confirmed, and one the browser nominated (USE-CANDIDATE) moves the endpoint to its source,
 * so media follows the pair the browser picked rather than the first candidate that reached us. Checks that
 * fail authentication move nothing. From a peer whose SDP has ICE credentials, DTLS is taken only from a source
 * whose check passed, and such a check also replaces an endpoint latched from anywhere else; from a peer
 * without ICE, from the endpoint (the first source when nothing confirmed one).
 */
function onOther(side: MediaSide, peer: MediaSide, msg: Buffer, leg: RelayLeg, from: Endpoint): void {
  const st = side.dtls;
  if (!st) return;
  if (msg[0]! < 4) {
    const r = answerBinding(msg, from, st.ice);
    if (r.reply) leg.sendTo(r.reply, from);
    if (!('nominated' in r)) return;
    const seen = remember(leg, from);
    // With an ICE peer, an endpoint no check came from (latched from a stranger's packet) is replaced too.
    if (r.nominated || !leg.confirmed || (st.peerIce && !isChecked(seen, leg.endpoint)))
      moveEndpoint(leg, from);
    return;
  }
  if (msg[0]! < 20) return; // ZRTP and others: not ours
  if (st.peerIce) {
    if (!isChecked(checkedSources.get(leg), from)) return;
    // It sends DTLS on the pair it selected (RFC 8842): our flights and the media go there.
    moveEndpoint(leg, from);
  } else if (!leg.confirmed) moveEndpoint(leg, from);
  else if (!sameEndpoint(leg.endpoint, from)) return;
  // Without rtcp-mux a peer may run a second handshake on its RTCP port (RFC 5764 4.1: keys per component).
  if (leg.isRtcp) {
    st.rtcp ??= {};
    const hs = st.rtcp;
    if (feed(hs, msg, leg, () => side.dtls === st && st.rtcp === hs)) {
      hs.pending = keysOf(hs);
      openRtcp(side, peer, st);
    }
    return;
  }
  if (feed(st, msg, leg, () => side.dtls === st)) {
    const k = keysOf(st);
    if (!k) return;
    st.pending = k;
    open(side, peer, st);
  }
}

/** Feeds a DTLS packet to a handshake (started on its first); true when this packet finished it. */
function feed(hs: Handshake, msg: Buffer, leg: RelayLeg, alive: () => boolean): boolean {
  const addon = loadNativeRelay();
  if (!addon?.dtlsNew || hs.error) return false;
  if (!hs.handle) {
    hs.handle = addon.dtlsNew(true);
    hs.startedAt = Date.now();
    if (!hs.handle) {
      hs.error = 'DTLS could not start';
      return false;
    }
  }
  const step = addon.dtlsFeed!(hs.handle, msg);
  for (const d of step.out) leg.sendToParty(d, true);
  if (step.state === 2) {
    hs.error = `DTLS handshake failed: ${step.error ?? 'unknown'}`;
    return false;
  }
  if (step.state === 1 && !hs.finished) {
    hs.finished = true;
    if (hs.timer) clearTimeout(hs.timer);
    return true;
  }
  if (!hs.finished) retransmitLater(hs, leg, alive);
  return false;
}

function retransmitLater(hs: Handshake, leg: RelayLeg, alive: () => boolean): void {
  const addon = loadNativeRelay();
  if (hs.timer) clearTimeout(hs.timer);
  const ms = hs.handle ? (addon?.dtlsTimeoutMs?.(hs.handle) ?? -1) : -1;
  if (ms < 0) return;
  hs.timer = setTimeout(
    () => {
      hs.timer = undefined;
      if (!alive() || !hs.handle || hs.finished || leg.closed) return;
      if (Date.now() - (hs.startedAt ?? 0) > HANDSHAKE_MS) {
        hs.error = 'DTLS handshake timed out';
        return;
      }
      const step = addon!.dtlsOnTimeout!(hs.handle);
      for (const d of step.out) leg.sendToParty(d, true);
      if (step.state === 2) hs.error = `DTLS handshake failed: ${step.error ?? 'timeout'}`;
      else retransmitLater(hs, leg, alive);
    },
    Math.max(1, ms),
  );
  hs.timer.unref();
}

const PROFILES: Record<number, SrtpSuite> = { 1: 'AES_CM_128_HMAC_SHA1_80', 2: 'AES_CM_128_HMAC_SHA1_32' };

/** The SRTP keys a finished handshake exported, as SDES-style inline keys; undefined (and the error) without. */
function keysOf(hs: Handshake): HandshakeKeys | undefined {
  const k = loadNativeRelay()?.dtlsSrtp?.(hs.handle!);
  const suite = k ? PROFILES[k.profile] : undefined;
  if (!k || !suite) {
    hs.error = 'DTLS gave no SRTP keys';
    return undefined;
  }
  // RFC 5764 4.2: client key, server key, client salt, server salt. We are the server.
  const m = k.material;
  const rx = Buffer.concat([m.subarray(0, 16), m.subarray(32, 46)]).toString('base64');
  const tx = Buffer.concat([m.subarray(16, 32), m.subarray(46, 60)]).toString('base64');
  return { suite, rx, tx, peer: k.peerCertificate };
}

const sdesOf = (k: HandshakeKeys) => ({
  ours: [{ tag: 1, suite: k.suite, inline: k.tx }],
  theirs: k.rx,
  rx: SrtpContext.fromInline(k.suite, k.rx),
  tx: SrtpContext.fromInline(k.suite, k.tx),
});

/**
 * The RTCP component's keys go on the RTCP leg once they, the browser's fingerprint and the RTP component's
 * keys (the section's SRTP state) are all there; a certificate that does not match leaves RTCP undecryptable.
 */
function openRtcp(side: MediaSide, peer: MediaSide, st: DtlsState): void {
  const hs = st.rtcp;
  const k = hs?.pending;
  if (!hs || !k || !st.theirFingerprint || !st.connected || !side.sdes) return;
  hs.pending = undefined;
  if (!certificateMatches(k.peer, st.theirFingerprint)) {
    hs.error = "the RTCP handshake's certificate does not match the fingerprint in the SDP";
    return;
  }
  side.sdes.rtcp = sdesOf(k);
  bridgeSrtp(side, peer);
}

/** Opens the gate once the handshake's keys and the browser's fingerprint (from its SDP) are both known. */
function open(side: MediaSide, peer: MediaSide, st: DtlsState): void {
  const k = st.pending;
  if (!k || !st.theirFingerprint) return;
  st.pending = undefined;
  if (!certificateMatches(k.peer, st.theirFingerprint)) {
    st.error = "the browser's certificate does not match the fingerprint in its SDP";
    return;
  }
  st.connected = true;
  side.sdes = sdesOf(k);
  // SRTP in place first (in the worker when it can), then the gates go: no packet passes unencrypted.
  bridgeSrtp(side, peer);
  for (const leg of [...legsOf(side), ...legsOf(peer)]) setGate(leg, false);
  openRtcp(side, peer, st);
}

/** Ends a side's DTLS (a re-offer without it, or with another certificate); the handle goes with its last reference. */
export function closeDtls(side: MediaSide): void {
  const st = side.dtls;
  if (st?.timer) clearTimeout(st.timer);
  if (st?.rtcp?.timer) clearTimeout(st.rtcp.timer);
  side.dtls = undefined;
}
