/**
 * The ng commands of media subscriptions (`publish`, `subscribe request`, `subscribe answer`, `unsubscribe`):
 * participants outside offer/answer, on the engine's calls. The copy taps and SDP they build are in
 * subscriptions.ts; the engine lends what calls and ports need (EngineParts).
 */
import { type Call, type CloseReason, MediaSide, Monologue } from './call.js';
import { applyEndpoints, endpointsOf } from './endpoints.js';
import type { MediaInterface } from './interfaces.js';
import { EngineError } from './options.js';
import { familyOf, parseSdp, portsOf } from './engine-sdp.js';
import {
  type Subscription,
  copyConversions,
  generatedSdp,
  newSubscriptionTag,
  publishedFormat,
  startCopying,
  stopCopying,
  subscribedSections,
} from './subscriptions.js';

/**
 * Publishers and subscribers one call may have: a peer's requests alone create them, each holds ports, and
 * nothing else bounds them per call.
 */
export const MAX_EXTRA_PARTICIPANTS = 32;

/** What the subscription commands use of the engine. */
export interface EngineParts {
  readonly calls: Map<string, Call>;
  callFor(callId: string): Call;
  pickInterface(name: string | undefined, family: 4 | 6 | undefined): MediaInterface;
  ensurePair(side: MediaSide, iface: MediaInterface, relocate: boolean): Promise<void>;
  reject(side: MediaSide): void;
  signalled(call: Call): void;
  destroy(call: Call, reason: CloseReason): void;
  removeMonologue(call: Call, m: Monologue): void;
}

export class SubscriptionCommands {
  constructor(private readonly host: EngineParts) {}

  /**
   * ng `subscribe request`: a new monologue (tag `toTag`, else generated) that will receive a copy of what
   * the `fromTags` parties send; returns its sendonly offer. An existing subscriber with that tag is replaced.
   */
  async subscribeRequest(o: {
    callId: string;
    fromTags: string[] | 'all';
    toTag?: string;
    label?: string;
  }): Promise<{ sdp: string; toTag: string; fromTags: string[] }> {
    const call = this.host.calls.get(o.callId);
    if (!call) throw new EngineError('Unknown call-ID');
    const sources =
      o.fromTags === 'all'
        ? call.monologues.filter((m) => !m.subscription && m.tag !== '')
        : o.fromTags.map((t) => {
            const m = call.byTag(t);
            if (!m || m.subscription) throw new EngineError('From-tag not found');
            return m;
          });
    if (sources.length === 0) throw new EngineError('No call participants to subscribe to');
    const sections = subscribedSections(sources, parseSdp);
    if (sections.length === 0) throw new EngineError('The subscribed participants have no media');
    const tag = o.toTag ?? newSubscriptionTag();
    const old = call.byTag(tag);
    if (old && !old.subscription) throw new EngineError(`Tag '${tag}' is a call participant`);
    if (old) this.unsubscribe({ callId: o.callId, toTag: tag });
    else this.checkExtraParticipants(call);
    const sub = call.add(new Monologue(tag, undefined));
    call.busy++;
    try {
      sub.subscription = {
        sources: sections.map((s) => s.side),
        offered: sections.map((s) => s.formats),
        media: sections.map((s) => s.media),
        convert: [],
        taps: [],
      };
      if (o.label !== undefined) sub.label = o.label;
      const iface = sections[0]!.side.iface;
      for (const [i, s] of sections.entries()) {
        const side = new MediaSide(i + 1, s.side.iface);
        side.kind = s.side.kind;
        side.proto = s.side.proto;
        side.direction = 'recvonly';
        sub.media.push(side);
        await this.host.ensurePair(side, s.side.iface, false);
      }
      const sdp = generatedSdp(sections, portsOf(sub), iface.advertised, iface.family, 'sendonly');
      call.lastSignal = Date.now();
      return { sdp, toTag: tag, fromTags: sources.map((m) => m.tag) };
    } catch (e) {
      // Out of ports half way: the sections already bound go back.
      this.host.removeMonologue(call, sub);
      throw e;
    } finally {
      call.busy--;
    }
  }

  private checkExtraParticipants(call: Call): void {
    const n = call.monologues.filter((m) => m.subscription || m.published).length;
    if (n >= MAX_EXTRA_PARTICIPANTS)
      throw new EngineError(`At most ${MAX_EXTRA_PARTICIPANTS} publishers and subscribers per call`);
  }

  /**
   * ng `publish`: a participant outside offer/answer whose media others may subscribe to. Its SDP is answered
   * recvonly by us with one codec per section (the first of `accept` it offers, else its first); a
   * re-publish keeps the ports.
   */
  async publish(o: { callId: string; fromTag: string; sdp: string; accept?: string[] }): Promise<string> {
    const sdp = parseSdp(o.sdp);
    const call = this.host.callFor(o.callId);
    const existing = call.byTag(o.fromTag);
    if (existing && (existing.peer || existing.subscription))
      throw new EngineError(`Tag '${o.fromTag}' is in an offer/answer or a subscription`);
    const isNew = call.monologues.length === 0;
    if (!existing) this.checkExtraParticipants(call);
    call.busy++;
    try {
      const pub = existing ?? call.add(new Monologue(o.fromTag, undefined));
      pub.sdp = o.sdp;
      pub.published = [];
      const iface = this.host.pickInterface(undefined, familyOf(sdp));
      const sections = [];
      for (const [i, m] of sdp.media.entries()) {
        const side = pub.media[i] ?? new MediaSide(i + 1, iface);
        pub.media[i] = side;
        side.kind = m.kind;
        side.proto = m.proto;
        const format = publishedFormat(m, o.accept ?? []);
        pub.published.push(format);
        if (m.port === 0) {
          this.host.reject(side);
          continue;
        }
        await this.host.ensurePair(side, iface, false);
        applyEndpoints(side, endpointsOf(sdp, m, undefined), {
          learning: 'latch',
          strict: false,
          relearn: false,
        });
        side.direction = sdp.directionOf(m);
        sections.push({ side, media: m, formats: [format] });
      }
      if (sections.length === 0) throw new EngineError('The published SDP has no media');
      call.lastSignal = Date.now();
      call.answered = true;
      const mine = { media: sections.map((s) => s.side) };
      this.host.signalled(call);
      return generatedSdp(sections, portsOf(mine), iface.advertised, iface.family, 'recvonly');
    } catch (e) {
      if (isNew) this.host.destroy(call, 'forced');
      throw e;
    } finally {
      call.busy--;
    }
  }

  /**
   * ng `subscribe answer`: the subscriber's SDP gives where the copies go; copying starts. As with rtpengine,
   * the answer must take every codec offered unless `allowTranscoding`: then what it did not take is converted
   * in the copies where we can (PCMU, PCMA, G.722); the returned warnings name sections where we cannot.
   */
  subscribeAnswer(o: { callId: string; toTag: string; sdp: string; allowTranscoding?: boolean }): string[] {
    const call = this.host.calls.get(o.callId);
    if (!call) throw new EngineError('Unknown call-ID');
    const sub = call.byTag(o.toTag);
    if (!sub?.subscription) throw new EngineError('To-tag not found');
    const sdp = parseSdp(o.sdp);
    const warnings: string[] = [];
    const convert: Subscription['convert'] = [];
    for (const [i, offered] of sub.subscription.offered.entries()) {
      const m = sdp.media[i];
      if (!m || m.port === 0) continue;
      if (offered.every((f) => m.formats.includes(f))) continue;
      if (!o.allowTranscoding) throw new EngineError('Failed to process subscription answer');
      // `allow transcoding`: what it did not take is converted to a PCMU/PCMA/G.722 it took, where we can.
      const conversions = copyConversions(sub.subscription.media[i]!, offered, m);
      convert[i] = conversions;
      const covered = offered.filter((f) => m.formats.includes(f) || conversions.has(Number(f)));
      if (covered.length === 0) throw new EngineError('Failed to process subscription answer');
      if (covered.length < offered.length)
        warnings.push(`m=${m.kind} line ${i + 1}: some source codecs reach the subscriber unconverted`);
    }
    sub.subscription.convert = convert;
    for (const [i, side] of sub.media.entries()) {
      const m = sdp.media[i];
      if (!m || m.port === 0) {
        this.host.reject(side);
        continue;
      }
      applyEndpoints(side, endpointsOf(sdp, m, undefined), {
        learning: 'latch',
        strict: false,
        relearn: true,
      });
    }
    sub.sdp = o.sdp;
    call.lastSignal = Date.now();
    startCopying(sub.subscription, sub);
    return warnings;
  }

  /** ng `unsubscribe`: the copies stop and the subscriber's ports go back (an unknown tag: nothing to do, as rtpengine). */
  unsubscribe(o: { callId: string; toTag: string }): void {
    const call = this.host.calls.get(o.callId);
    if (!call) throw new EngineError('Unknown call-ID');
    const sub = call.byTag(o.toTag);
    if (!sub?.subscription) return;
    stopCopying(sub.subscription);
    this.host.removeMonologue(call, sub);
  }
}
