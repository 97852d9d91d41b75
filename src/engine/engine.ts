/**
 * The engine: calls and their lifecycle. Front ends (ng, RTPproxy) call offer/answer/delete and read calls;
 * the dataplane moves packets. Nothing here knows which control protocol asked.
 */
import { type Dataplane, OutOfPortsError } from '../dataplane/userspace.js';
import type { Sdp, SdpMedia } from '../wire/sdp.js';
import { codecNames, offerFilter, payloadsToRemove } from './codec-filter.js';
import { answerTakesDtls, bridgeDtls, offerDtlsToo, planDtlsAnswer, planDtlsOffer } from './dtls-bridge.js';
import { eventsPayloadType, isEventsTarget, planEventsOffer } from './dtmf-bridge.js';
import { planAnswer, planOffer } from './transcode.js';
import type { Logger } from '../util/log.js';
import { Call, type CloseReason, MediaSide, Monologue } from './call.js';
import { applyEndpoints, endpointsOf, moved, wire } from './endpoints.js';
import type { InterfaceSet, MediaInterface } from './interfaces.js';
import { EngineError, type RtcpMuxMode, type SignalOptions, type SignalResult } from './options.js';
import { type MediaPlan, rewriteSdp } from './sdp-rewrite.js';
import { bridgeSrtp, planSrtpAnswer, planSrtpOffer } from './srtp-bridge.js';
import { EngineStats } from './stats.js';
import { familyOf, parseSdp } from './engine-sdp.js';
import { SubscriptionCommands } from './subscription-commands.js';
import { followSources, stopCopying } from './subscriptions.js';

export interface EngineConfig {
  interfaces: InterfaceSet;
  /** Seconds; <= 0 disables. */
  timeout: number;
  silentTimeout: number;
  finalTimeout: number;
  offerTimeout: number;
  deleteDelay: number;
  /** -1: no limit. */
  maxSessions: number;
}

export interface DeleteRequest {
  callId: string;
  fromTag?: string;
  toTag?: string;
  viaBranch?: string;
  /** Overrides the configured delete delay (seconds). */
  delay?: number;
}

/** rtpengine's marker attribute; with `loop protect` an SDP carrying it passes through untouched. */
const LOOP_ATTRIBUTE = 'rtpengine';

export class Engine {
  readonly calls = new Map<string, Call>();
  /** Where the last bounded sweep stopped. */
  private sweepCursor: IterableIterator<Call> | undefined;
  readonly stats = new EngineStats();
  /** Called after a call is closed, with why (front ends: notify sockets, metrics). Must not throw. */
  readonly closeListeners: ((call: Call, reason: CloseReason) => void)[] = [];
  /** Called after an offer or answer changed a call's media (kernel offload re-evaluates it). Must not throw. */
  readonly signalListeners: ((call: Call) => void)[] = [];
  /**
   * Brings counters kept outside the legs (kernel offload's) into them, read at most `maxAgeMs` ago (default:
   * a fraction of a second). Front ends await it before replying with counters; it resolves in bounded time
   * even when that source does not answer. Null: the legs' counters are always current.
   */
  refreshCounters: ((maxAgeMs?: number) => Promise<void>) | null = null;
  /** rtcp-mux modes asked for in the offer, kept per offering side for its answer. */
  private readonly muxModes = new WeakMap<MediaSide, Set<RtcpMuxMode>>();
  readonly instanceId = Math.random().toString(36).slice(2, 10);
  /** ng `publish`, `subscribe request`/`answer`, `unsubscribe` on these calls. */
  readonly subscriptions: SubscriptionCommands;

  constructor(
    readonly config: EngineConfig,
    private readonly dataplane: Dataplane,
    private readonly log: Logger,
  ) {
    this.subscriptions = new SubscriptionCommands({
      calls: this.calls,
      callFor: (id) => this.callFor(id),
      pickInterface: (name, family) => this.pickInterface(name, family),
      ensurePair: (side, iface, relocate) => this.ensurePair(side, iface, relocate),
      reject: (side) => this.reject(side),
      signalled: (call) => this.signalled(call),
      destroy: (call, reason) => this.destroy(call, reason),
      removeMonologue: (call, m) => this.removeMonologue(call, m),
    });
  }

  async offer(o: SignalOptions): Promise<SignalResult> {
    const sdp = parseSdp(o.sdp);
    const warnings: string[] = [];
    if (o.loopProtect && hasLoopMarker(sdp)) return { sdp: o.sdp, warnings };
    const isNew = !this.calls.has(o.callId);
    const call = this.callFor(o.callId);
    call.busy++;
    try {
      const r = await this.doOffer(call, sdp, o, warnings);
      this.applyTos(call, o, warnings);
      this.signalled(call);
      return r;
    } catch (e) {
      if (isNew && call.monologues.every((m) => m.media.every((s) => !s.pair))) this.destroy(call, 'forced');
      throw e;
    } finally {
      call.busy--;
    }
  }

  /** The call of this call-id, made when new (within `--max-sessions`). */
  private callFor(callId: string): Call {
    let call = this.calls.get(callId);
    if (call) return call;
    const max = this.config.maxSessions;
    if (max >= 0 && this.calls.size >= max) {
      this.stats.rejected++;
      throw new EngineError('Parallel session limit reached', true);
    }
    call = new Call(callId);
    this.calls.set(callId, call);
    this.stats.managed++;
    return call;
  }

  private async doOffer(call: Call, sdp: Sdp, o: SignalOptions, warnings: string[]): Promise<SignalResult> {
    call.deleteAt = 0;
    call.lastSignal = Date.now();
    if (o.metadata !== undefined) call.metadata = o.metadata;
    const from = call.byTag(o.fromTag) ?? call.add(new Monologue(o.fromTag, undefined));
    let to = o.toTag ? call.byTag(o.toTag) : undefined;
    if (!to && o.viaBranch !== undefined) to = call.byBranch(o.viaBranch);
    if (!to && o.viaBranch === undefined && from.peer) to = from.peer;
    if (!to) to = call.add(new Monologue(o.toTag ?? '', o.viaBranch));
    if (o.toTag && to.tag === '') to.tag = o.toTag;
    from.peer = to;
    to.peer = from;
    if (o.label !== undefined) from.label = o.label;
    from.sdp = o.sdp;

    const sdpFamily = familyOf(sdp);
    const fromIface = this.pickInterface(o.direction?.[0], sdpFamily);
    const toIface = this.pickInterface(o.direction?.[1], o.addressFamily ?? sdpFamily);
    const modes = new Set(o.rtcpMux ?? []);
    const plans: MediaPlan[] = [];
    for (const [i, m] of sdp.media.entries()) {
      const fm = from.media[i] ?? new MediaSide(i + 1, fromIface);
      const tm = to.media[i] ?? new MediaSide(i + 1, toIface);
      from.media[i] = fm;
      to.media[i] = tm;
      for (const s of [fm, tm]) {
        s.kind = m.kind;
        s.proto = m.proto;
      }
      if (m.port === 0) {
        this.reject(fm);
        this.reject(tm);
        plans.push({ side: undefined, mux: false, rtcpOnRtpPort: false });
        continue;
      }
      const eps = endpointsOf(sdp, m, o.sipSourceAddress ? o.receivedFrom : undefined);
      const relocate = o.noPortLatching === true && moved(fm, eps);
      await this.ensurePair(fm, fromIface, relocate);
      await this.ensurePair(tm, toIface, false);
      applyEndpoints(fm, eps, {
        learning: o.learning ?? 'latch',
        strict: o.strictSource ?? false,
        relearn: o.reset === true,
      });
      fm.direction = sdp.directionOf(m);
      fm.muxOffered = m.rtcpMux;
      fm.rtcpMux = fm.rtcpMux && m.rtcpMux;
      this.muxModes.set(fm, modes);
      const require = modes.has('require');
      const mux = require || modes.has('offer') || (m.rtcpMux && !modes.has('demux'));
      const filtered = offerFilter(m, o.codec);
      const targets = o.codec?.transcode ?? [];
      const tc = planOffer(
        m,
        targets.filter((t) => !isEventsTarget(t)),
        filtered,
        warnings,
      );
      // Transcoding may replace every codec of the offer (codec-mask-all codec-transcode-PCMA).
      const removeFormats = this.codecRemoval(m, filtered.removed, tc.add.length, warnings);
      fm.strippedCodecs = codecNames(m, removeFormats);
      fm.transcodeOffer = tc.offer;
      const sent = [...m.formats.map(Number).filter((pt) => !removeFormats.includes(pt)), ...tc.add];
      const addEvents = planEventsOffer(m, targets, sent, warnings);
      fm.eventsOffer = addEvents;
      const dtlsPlan = planDtlsOffer(sdp, m, fm, tm, o.transportProtocol, warnings);
      let srtp = dtlsPlan ?? planSrtpOffer(m, fm, tm, o.transportProtocol, warnings, o.sdesSuites);
      // An SRTP recipient is offered DTLS next to our SDES keys, as rtpengine does unless DTLS=off.
      if (!dtlsPlan && srtp && tm.sdes && !o.dtlsOff && o.transportProtocol)
        srtp = offerDtlsToo(srtp, tm, o.transportProtocol, o.iceForce === true);
      for (const s of [fm, tm]) if (s.dtls && o.dtlsHash) s.dtls.ourHash = o.dtlsHash;
      // WebRTC requires rtcp-mux: a browser's offer of it is accepted whatever the other side does, and a
      // browser is offered it.
      if (fm.dtls) modes.add('accept');
      plans.push({
        side: tm,
        // WebRTC requires rtcp-mux: a browser is offered it (not an SDES endpoint offered DTLS too).
        mux: mux || tm.dtls?.advertiseIce === true,
        rtcpOnRtpPort: require,
        removeFormats,
        addFormats: tc.add,
        ...(addEvents !== undefined && { addEvents }),
        ...(srtp && { srtp }),
      });
      wire(fm, tm);
      bridgeSrtp(fm, tm);
      bridgeDtls(fm, tm);
      bridgeDtls(tm, fm);
    }
    if (sdp.media.length === 0) warnings.push('SDP has no media sections');
    if (o.iceForce && !to.media.some((s) => s.dtls))
      warnings.push('ICE=force: ICE is offered to WebRTC (DTLS) recipients only; ICE attributes removed');
    const address = o.mediaAddress ?? toIface.advertised;
    return {
      sdp: rewriteSdp(sdp, { address, family: toIface.family, media: plans, isOffer: true, opts: o }),
      warnings,
    };
  }

  async answer(o: SignalOptions): Promise<SignalResult> {
    const sdp = parseSdp(o.sdp);
    const warnings: string[] = [];
    if (o.loopProtect && hasLoopMarker(sdp)) return { sdp: o.sdp, warnings };
    const call = this.calls.get(o.callId);
    if (!call) throw new EngineError('Unknown call-id');
    const offerer = call.byTag(o.fromTag);
    if (!offerer) throw new EngineError('Unknown from-tag');
    let answerer = o.toTag ? call.byTag(o.toTag) : undefined;
    if (answerer === offerer) answerer = undefined;
    if (!answerer && o.viaBranch !== undefined) answerer = call.byBranch(o.viaBranch);
    if (!answerer) answerer = offerer.peer ?? undefined;
    if (!answerer) throw new EngineError('No offer for this answer');
    if (o.toTag) {
      if (answerer.tag === '') answerer.tag = o.toTag;
      else if (answerer.tag !== o.toTag) call.aliases.set(o.toTag, answerer);
    }
    call.busy++;
    try {
      call.deleteAt = 0;
      call.lastSignal = Date.now();
      if (o.metadata !== undefined) call.metadata = o.metadata;
      offerer.peer = answerer;
      answerer.peer = offerer;
      if (o.label !== undefined) answerer.label = o.label;
      answerer.sdp = o.sdp;
      const plans: MediaPlan[] = [];
      for (const [i, m] of sdp.media.entries()) {
        const am = answerer.media[i];
        const om = offerer.media[i];
        if (!am?.pair || !om?.pair || m.port === 0) {
          if (am) this.reject(am);
          if (om) this.reject(om);
          plans.push({ side: undefined, mux: false, rtcpOnRtpPort: false });
          continue;
        }
        const eps = endpointsOf(sdp, m, o.sipSourceAddress ? o.receivedFrom : undefined);
        applyEndpoints(am, eps, {
          learning: o.learning ?? 'latch',
          strict: o.strictSource ?? false,
          relearn: o.reset === true,
        });
        am.direction = sdp.directionOf(m);
        am.muxOffered = m.rtcpMux;
        am.rtcpMux = m.rtcpMux;
        const modes = this.muxModes.get(om) ?? new Set();
        om.rtcpMux =
          om.muxOffered &&
          !modes.has('reject') &&
          (am.rtcpMux || modes.has('demux') || modes.has('accept') || modes.has('require'));
        const strip = [...om.strippedCodecs, ...(o.codec?.strip ?? []), ...(o.codec?.mask ?? [])];
        // The answer's own codec filter first; transcoding then looks at what is left of the answer.
        let stripped = payloadsToRemove(m, { ...o.codec, strip });
        let tc = planAnswer(m, om.transcodeOffer, stripped);
        const gone = new Set([...stripped, ...tc.remove]);
        if (m.formats.every((f) => gone.has(Number(f)))) {
          if (stripped.length)
            warnings.push(`codec filter would remove every codec of m=${m.kind}: left unchanged`);
          stripped = [];
          tc = planAnswer(m, om.transcodeOffer, []);
        }
        om.transcode = tc.offerer;
        am.transcode = tc.answerer;
        // telephone-event we added and the answerer accepted: bridged to in-band for the offerer.
        const left = m.formats.map(Number).filter((pt) => !stripped.includes(pt) && !tc.remove.includes(pt));
        const events = om.eventsOffer === undefined ? undefined : eventsPayloadType(m, left);
        om.eventsFromAudio = events;
        am.eventsToAudio = events !== undefined;
        const srtp = om.dtls
          ? { proto: om.dtls.proto, crypto: [], dtls: om.dtls }
          : answerTakesDtls(sdp, m, am)
            ? planDtlsAnswer(sdp, m, om, am, warnings)
            : planSrtpAnswer(m, om, am, warnings);
        plans.push({
          side: om,
          mux: om.rtcpMux,
          rtcpOnRtpPort: om.rtcpMux,
          removeFormats: [...stripped, ...tc.remove, ...(events === undefined ? [] : [events])],
          replaceFormat: tc.replace,
          ...(srtp && { srtp }),
        });
        wire(om, am);
        bridgeSrtp(om, am);
        bridgeDtls(om, am);
        bridgeDtls(am, om);
      }
      if (!call.answered) {
        call.answered = true;
        call.answeredAt = Date.now();
      }
      this.applyTos(call, o, warnings);
      this.signalled(call);
      const iface = offerer.media.find((s) => s.pair)?.iface ?? this.pickInterface(undefined, familyOf(sdp));
      const address = o.mediaAddress ?? iface.advertised;
      return {
        sdp: rewriteSdp(sdp, { address, family: iface.family, media: plans, isOffer: false, opts: o }),
        warnings,
      };
    } finally {
      call.busy--;
    }
  }

  /**
   * Deletes a call, or one branch of it when the tags name a branch and others remain. Returns the call as it
   * was (for the stats in the reply).
   */
  delete(d: DeleteRequest): Call {
    const call = this.calls.get(d.callId);
    if (!call) throw new EngineError("Call-ID not found or tags didn't match");
    if (d.fromTag && !call.byTag(d.fromTag)) throw new EngineError("Call-ID not found or tags didn't match");
    const branch =
      (d.toTag ? call.byTag(d.toTag) : undefined) ??
      (d.viaBranch !== undefined ? call.byBranch(d.viaBranch) : undefined);
    const tagged = call.monologues.filter((m) => m.media.some((s) => s.pair));
    if (branch && d.fromTag && tagged.length > 2 && branch.tag !== d.fromTag) {
      this.removeMonologue(call, branch);
      return call;
    }
    const delay = (d.delay ?? this.config.deleteDelay) * 1000;
    if (delay <= 0) this.destroy(call, 'regular');
    else {
      call.deleteAt = Date.now() + delay;
      call.deleteReason = 'regular';
    }
    return call;
  }

  /** Media sections of all calls whose packets are converted between codecs now. */
  transcodedMedia(): number {
    let n = 0;
    for (const c of this.calls.values()) n += c.transcodedMedia();
    return n;
  }

  /** Ends every call now (SIGTERM, `terminate all`). */
  shutdown(): void {
    for (const c of [...this.calls.values()]) this.destroy(c, 'forced');
  }

  /**
   * Applies the timeouts and delete delays. With `limit`, looks at no more than that many calls and goes on
   * from there next time (the daemon's periodic sweep: tens of thousands of calls are never checked in one
   * event-loop turn, which would hold up every request waiting behind it); without, checks every call.
   */
  sweep(now = Date.now(), limit = Number.POSITIVE_INFINITY): void {
    // Map iterators survive deletions and insertions, so a cursor can wait between sweeps.
    const it =
      limit === Number.POSITIVE_INFINITY ? this.calls.values() : (this.sweepCursor ?? this.calls.values());
    this.sweepCursor = undefined;
    for (let n = 0; n < limit; n++) {
      const next = it.next();
      if (next.done) return;
      this.sweepOne(next.value, now);
    }
    this.sweepCursor = it;
  }

  private sweepOne(call: Call, now: number): void {
    const cfg = this.config;
    if (call.busy) return;
    if (call.deleteAt) {
      if (now >= call.deleteAt) this.destroy(call, call.deleteReason);
      return;
    }
    if (cfg.finalTimeout > 0 && now - call.created >= cfg.finalTimeout * 1000) {
      this.destroy(call, 'final timeout');
    } else if (!call.answered) {
      if (cfg.offerTimeout > 0 && now - call.lastSignal >= cfg.offerTimeout * 1000) {
        this.destroy(call, 'offer timeout');
      }
    } else {
      // Activity only moves forward: until the shorter timeout has passed since the activity last read, the
      // call cannot have timed out, so the sweeper does not touch its legs (with the native dataplane each
      // read is a cache miss into shared memory).
      const shortest = shortestTimeoutMs(cfg);
      if (shortest === 0 || now - call.activitySeen < shortest) return;
      const last = Math.max(call.lastPacket(), call.answeredAt, call.lastSignal);
      call.activitySeen = last;
      const silent = isOnHold(call);
      const limit = silent ? cfg.silentTimeout : cfg.timeout;
      if (limit > 0 && now - last >= limit * 1000) this.destroy(call, silent ? 'silent timeout' : 'timeout');
    }
  }

  destroy(call: Call, reason: CloseReason): void {
    if (this.calls.get(call.callId) !== call) return;
    this.calls.delete(call.callId);
    // Listeners run while the legs are still open, so they can read the call's final counters.
    for (const l of this.closeListeners) {
      try {
        l(call, reason);
      } catch (e) {
        this.log.err(`close listener failed: ${(e as Error).message}`);
      }
    }
    for (const m of call.monologues) for (const s of m.media) this.releasePair(s);
    this.stats.closed(call, reason);
    this.log.info(`call ${call.callId} closed (${reason})`);
  }

  /**
   * A `TOS` in the request sets the call's TOS; once set it applies to all the call's ports, including ports
   * opened later for it. Runs before the signal listeners (kernel offload) look at the call.
   */
  private applyTos(call: Call, o: SignalOptions, warnings: string[]): void {
    if (o.tos !== undefined) call.tos = o.tos;
    if (call.tos < 0) return;
    let ok = true;
    for (const m of call.monologues)
      for (const s of m.media) if (s.pair) ok = this.dataplane.setTos(s.pair, call.tos) && ok;
    if (!ok && o.tos !== undefined) warnings.push('TOS needs the native dataplane: not applied');
  }

  private signalled(call: Call): void {
    for (const m of call.monologues) if (m.subscription) followSources(m.subscription, m);
    for (const l of this.signalListeners) l(call);
  }

  private removeMonologue(call: Call, m: Monologue): void {
    if (m.subscription) stopCopying(m.subscription);
    for (const s of m.media) this.releasePair(s);
    call.monologues = call.monologues.filter((x) => x !== m);
    for (const [tag, x] of call.aliases) if (x === m) call.aliases.delete(tag);
    for (const x of call.monologues) if (x.peer === m) x.peer = null;
  }

  private releasePair(s: MediaSide): void {
    if (!s.pair) return;
    this.stats.absorb(s.pair);
    this.dataplane.closePair(s.pair);
    s.pair = null;
  }

  private reject(s: MediaSide): void {
    this.releasePair(s);
    s.rejected = true;
  }

  /** Payload types to remove, never all of them unless `adding` more (an m= line needs one format). */
  private codecRemoval(m: SdpMedia, pts: number[], adding: number, warnings: string[]): number[] {
    if (pts.length > 0 && adding === 0 && pts.length >= m.formats.length) {
      warnings.push(`codec filter would remove every codec of m=${m.kind}: left unchanged`);
      return [];
    }
    return pts;
  }

  /**
   * Moves a media side to fresh local ports on its interface (RTPproxy's `n` modifier). The old ports go
   * back to the pool with their counters kept; the next offer or answer wires the new legs.
   */
  relocate(s: MediaSide): Promise<void> {
    return this.ensurePair(s, s.iface, true);
  }

  private async ensurePair(s: MediaSide, iface: MediaInterface, relocate: boolean): Promise<void> {
    if (s.pair && !relocate && s.pair.rtp.localAddress === iface.address) {
      s.rejected = false;
      return;
    }
    this.releasePair(s);
    s.iface = iface;
    try {
      s.pair = await this.dataplane.openPair(iface.address);
    } catch (e) {
      if (e instanceof OutOfPortsError) throw new EngineError('Ran out of ports');
      throw e;
    }
    s.rejected = false;
  }

  private pickInterface(name: string | undefined, family: 4 | 6 | undefined): MediaInterface {
    const ifs = this.config.interfaces;
    if (name !== undefined && !ifs.has(name)) throw new EngineError(`Unknown interface '${name}'`);
    const i = ifs.pick(name, family) ?? (name === undefined ? undefined : ifs.pick(name, undefined));
    if (!i) throw new EngineError(`No interface for address family IPv${family}`);
    return i;
  }
}

function hasLoopMarker(sdp: Sdp): boolean {
  return sdp.session.hasAttr(LOOP_ATTRIBUTE) || sdp.media.some((m) => m.hasAttr(LOOP_ATTRIBUTE));
}

/** The shorter of the media and silent timeouts that are on, in ms (0: neither). */
function shortestTimeoutMs(cfg: { timeout: number; silentTimeout: number }): number {
  const t = cfg.timeout > 0 ? cfg.timeout : Number.POSITIVE_INFINITY;
  const s = cfg.silentTimeout > 0 ? cfg.silentTimeout : Number.POSITIVE_INFINITY;
  const m = Math.min(t, s);
  return m === Number.POSITIVE_INFINITY ? 0 : m * 1000;
}

/** Every active media section is on hold or inactive: the silent timeout applies. */
function isOnHold(call: Call): boolean {
  let any = false;
  for (const m of call.monologues) {
    for (const s of m.media) {
      if (!s.pair) continue;
      any = true;
      if (s.direction === 'sendrecv') return false;
    }
  }
  return any;
}
