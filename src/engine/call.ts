/**
 * The call model, as rtpengine has it: a call holds monologues (one per tag, i.e. per SIP party); each
 * monologue holds its media sections (one per m= line); each media section holds the RTP/RTCP leg pair that
 * faces that party. Packets a party sends arrive on its own legs and leave through the peer's legs.
 */
import type { Endpoint } from '../dataplane/relay-leg.js';
import type { LegPair } from '../dataplane/userspace.js';
import type { SdpDirection } from '../wire/sdp.js';
import type { MediaInterface } from './interfaces.js';
import type { DtlsState } from './dtls-bridge.js';
import type { SdesState } from './srtp-bridge.js';
import type { Subscription } from './subscriptions.js';
import type { TranscodeOffer, Transcoding } from './transcode.js';

export class MediaSide {
  kind = 'audio';
  proto = 'RTP/AVP';
  /** Legs facing this party; null while the section is rejected (port 0). */
  pair: LegPair | null = null;
  iface: MediaInterface;
  /** What the party's last SDP said. */
  rtpAdvertised: Endpoint | null = null;
  rtcpAdvertised: Endpoint | null = null;
  direction: SdpDirection = 'sendrecv';
  /** The party offered (or, answering, accepted) RTCP multiplexing. */
  muxOffered = false;
  /** RTCP is multiplexed on the RTP port towards this party. */
  rtcpMux = false;
  rejected = false;
  codec: string | undefined;
  /** Codecs stripped from the offer this party sent, stripped from the answer it gets too. */
  strippedCodecs: string[] = [];
  /** Codecs added to this party's offer for transcoding, until the answer. */
  transcodeOffer: TranscodeOffer | undefined;
  /** Conversion of the packets this party sends (set by an answer that picked an added codec). */
  transcode: Transcoding | undefined;
  /** telephone-event payload type added to this party's offer (engine/dtmf-bridge), until the answer. */
  eventsOffer: number | undefined;
  /** This party's RFC 4733 events reach its peer as in-band tones (the peer has no telephone-event). */
  eventsToAudio = false;
  /** This party's in-band keys reach its peer as events of this payload type (it has no telephone-event). */
  eventsFromAudio: number | undefined;
  /** SDES-SRTP the proxy terminates towards this party (engine/srtp-bridge). */
  sdes: SdesState | undefined;
  /** DTLS-SRTP with ICE-lite the proxy terminates towards this (WebRTC) party (engine/dtls-bridge). */
  dtls: DtlsState | undefined;

  constructor(
    readonly index: number,
    iface: MediaInterface,
  ) {
    this.iface = iface;
  }
}

export class Monologue {
  label: string | undefined;
  readonly created = Date.now();
  media: MediaSide[] = [];
  /** The monologue this one is in dialogue with. */
  peer: Monologue | null = null;
  /** The party's last SDP, as received. */
  sdp: string | undefined;
  /** A subscriber (ng `subscribe request`): what it receives a copy of (engine/subscriptions). */
  subscription: Subscription | undefined;
  /** A publisher (ng `publish`): the payload type each of its sections was answered with. */
  published: string[] | undefined;

  constructor(
    /** Empty until the answer brings the to-tag. */
    public tag: string,
    readonly viaBranch: string | undefined,
  ) {}
}

export type CloseReason =
  | 'regular'
  | 'forced'
  | 'timeout'
  | 'silent timeout'
  | 'final timeout'
  | 'offer timeout';

export class Call {
  readonly created = Date.now();
  lastSignal = Date.now();
  monologues: Monologue[] = [];
  answered = false;
  // Timestamps start as -0 (equal to 0 and falsy, like 0), not 0: V8 would store 0 as a small integer and,
  // when the first real timestamp (too large for one) arrives, change the field's representation, which
  // deoptimises every function optimised for calls (seen with --trace-deopt as "wrong map").
  answeredAt = -0;
  /** Marked for deletion: purged at this time (ms). */
  deleteAt = -0;
  deleteReason: CloseReason = 'regular';
  metadata: string | undefined;
  /** A signalling operation is in progress (ports being bound): the sweeper leaves the call alone. */
  busy = 0;
  /** Latest activity the sweeper has read from the legs (ms): it reads them again once a timeout could have passed. */
  activitySeen = -0;
  /** TOS byte of the media sent for this call (ng `TOS`), -1: the proxy's default. */
  tos = -1;

  constructor(readonly callId: string) {}

  byTag(tag: string): Monologue | undefined {
    if (tag === '') return undefined;
    return this.monologues.find((m) => m.tag === tag) ?? this.aliases.get(tag);
  }

  /** Extra to-tags seen for a monologue (forked answers without via-branch reuse the same ports). */
  readonly aliases = new Map<string, Monologue>();

  byBranch(branch: string): Monologue | undefined {
    return this.monologues.find((m) => m.viaBranch === branch && m.tag === '');
  }

  add(m: Monologue): Monologue {
    this.monologues.push(m);
    return m;
  }

  *pairs(): Generator<LegPair> {
    for (const m of this.monologues) for (const s of m.media) if (s.pair) yield s.pair;
  }

  /** Media sections converted between codecs (one per offerer side whose packets are converted). */
  transcodedMedia(): number {
    let n = 0;
    for (const m of this.monologues) for (const s of m.media) if (s.transcode && s.transcodeOffer) n++;
    return n;
  }

  /** Latest packet time over all legs, ms (0: none). */
  lastPacket(): number {
    // Plain loops: the sweeper calls this for every call several times a second.
    let t = 0;
    for (const m of this.monologues) {
      for (const s of m.media) {
        const p = s.pair;
        if (p === null) continue;
        if (p.rtp.lastPacket > t) t = p.rtp.lastPacket;
        if (p.rtcp.lastPacket > t) t = p.rtcp.lastPacket;
      }
    }
    return t;
  }
}
