/**
 * The per-packet duties of one stream (the packets one party sends on one media section): DTMF/media
 * blocking (in-band keys masked too), silencing, DTMF detection (events and in-band), DTMF between events and
 * in-band tones, header continuity after an insertion, conversion, and recording (its RTCP through a second
 * tap on the RTCP leg). They run as a single {@link PacketTap} on the party's RTP leg, installed only while at
 * least one duty is active, so streams without duties keep the tap-free fast path.
 */
import { randomInt } from 'node:crypto';
import type { PacketTap, RelayLeg } from '../dataplane/relay-leg.js';
import { type DetectedDigit, DtmfDetector } from '../media/dtmf.js';
import { ALAW_SILENCE, ULAW_SILENCE } from '../media/g711.js';
import { RtpSenderState } from '../media/rtp-sender-state.js';
import type { UdpEndpoints } from '../wire/pcap.js';
import { rtpPayloadEnd, rtpPayloadOffset } from '../wire/rtp.js';
import type { MediaSide, Monologue } from './call.js';
import { InbandEvents } from './dtmf-bridge.js';
import { InbandKeyMasker } from './dtmf-inband-block.js';
import { InbandKeyReader } from '../media/dtmf-tones.js';
import { dtmfEventToChar } from '../wire/rtp-event.js';
import { DtmfReplacer, type DtmfSecurityOptions, synthesisable } from './dtmf-security.js';
import type { DtmfInjection, InsertTarget, Playback } from './playback.js';
import { type Transcoding, transcodePacket } from './transcode.js';
import type { CallRecording } from './recording.js';

/** What a stream's tap reports to its owner. */
export interface DutyHooks {
  onDigit(d: StreamDuties, digit: DetectedDigit, source: RelayLeg): void;
  recording(): CallRecording | undefined;
}

export class StreamDuties implements InsertTarget {
  blockDtmf = false;
  blockMedia = false;
  silence = false;
  detect = false;
  /** telephone-event payload type of this stream, when negotiated. */
  dtmfPayloadType: number | undefined;
  /** The negotiated audio payload type (blocked DTMF made audio uses the last one seen, else this). */
  audioPayloadType: number | undefined;
  private lastAudioPt: number | undefined;
  private replacer: DtmfReplacer | undefined;
  /** PCMU <-> PCMA conversion of this party's packets (codec transcode). */
  transcode: Transcoding | undefined;
  /** Packets converted by {@link transcode}. */
  transcoded = 0;
  /** Created by the first insertion; from then on every relayed packet's header is mapped. */
  private sender: RtpSenderState | undefined;
  private detector: DtmfDetector | undefined;
  insertion: Playback | DtmfInjection | undefined;
  /** `play DTMF` requests waiting for the current insertion to end. */
  readonly dtmfQueue: (() => void)[] = [];
  private leg: RelayLeg | null = null;
  private readonly tap: PacketTap;
  /** The party's RTCP leg while a recording is written (its packets go into the stream's pcap). */
  private rtcpLeg: RelayLeg | null = null;
  private readonly rtcpTap: PacketTap = (msg, leg) => {
    this.record(msg, leg, true);
    return true;
  };
  /** Packets dropped by blocking. */
  blocked = 0;
  /** This party's events become its key's tones for a peer without telephone-event (engine/dtmf-bridge). */
  eventsToAudio = false;
  /** This party's in-band keys become events of this payload type for its peer (engine/dtmf-bridge). */
  eventsFromAudio: number | undefined;
  private toAudio: DtmfReplacer | undefined;
  /** Blocked keys pressed in-band (created by the first audio packet while DTMF is blocked). */
  private masker: InbandKeyMasker | undefined;
  private securityOpts: DtmfSecurityOptions = { mode: 'drop' };
  /** In-band keys for detection, and where the one held started (RTP timestamp). */
  private keyReader: InbandKeyReader | undefined;
  private keyStart = 0;
  private fromAudio: InbandEvents | undefined;

  constructor(
    readonly party: Monologue,
    readonly side: MediaSide,
    public channel: number,
    private readonly hooks: DutyHooks,
  ) {
    this.tap = (msg, leg, isRtcp) => this.onPacket(msg, leg, isRtcp);
  }

  /** Stream name in recordings: the party's tag and the media index, e.g. `tagA-1`. */
  get key(): string {
    return `${this.party.tag || 'untagged'}-${this.side.index}`;
  }

  get state(): RtpSenderState {
    this.sender ??= new RtpSenderState({
      clockRate: 8000,
      initialSsrc: randomInt(0x7fffffff),
      initialSeq: randomInt(0xffff),
      initialTimestamp: randomInt(0x7fffffff),
    });
    return this.sender;
  }

  private primeWaiter: (() => void) | undefined;

  /**
   * Make the continuity state follow the relayed stream before a first insertion: without having seen
   * the stream's last header it would start a new sequence. When the party is sending, waits (at most
   * `maxWaitMs`) for its next packet.
   */
  async primeSender(maxWaitMs: number): Promise<void> {
    if (this.sender) return;
    void this.state;
    this.refresh();
    const leg = this.sourceLeg;
    if (!leg || Date.now() - leg.lastPacket > 1000) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.primeWaiter = undefined;
        resolve();
      };
      const timer = setTimeout(done, maxWaitMs);
      this.primeWaiter = done;
    });
  }

  /** The leg the party's packets arrive on. */
  get sourceLeg(): RelayLeg | null {
    return this.side.pair?.rtp ?? null;
  }

  /** Duties that need every packet in JavaScript (conversion alone does not: the dataplane may do it). */
  private needsPackets(): boolean {
    return (
      this.blockDtmf ||
      this.blockMedia ||
      this.silence ||
      this.detect ||
      this.eventsToAudio ||
      this.eventsFromAudio !== undefined ||
      this.sender !== undefined ||
      this.hooks.recording()?.writing === true
    );
  }

  /** The leg whose dataplane converts this stream (no tap), if any, and the conversion it was given. */
  private converter: RelayLeg | null = null;
  private convertedWith: Transcoding | undefined;

  /**
   * Install the tap on the current leg when a duty needs it, remove it otherwise. Conversion alone runs in
   * the dataplane when it can (the native one: no JavaScript per packet), else in the tap. The new way is in
   * place before the old one goes (a tapped leg's packets skip the dataplane's conversion), so no packet
   * passes unconverted or is converted twice while switching.
   */
  refresh(): void {
    const source = this.sourceLeg;
    const t = this.transcode;
    // Asked of the dataplane once per conversion (it would start G.722 afresh each time).
    const inDataplane =
      t !== undefined &&
      !this.needsPackets() &&
      // Another tap on the leg (SRTP) keeps its packets in JavaScript, where the worker does not convert.
      source?.taps.every((x) => x === this.tap) &&
      ((this.converter === source && this.convertedWith === t) ||
        source.convert?.({
          fromPt: t.fromPt,
          toPt: t.toPt,
          table: t.table,
          g722: t.g722,
          events: t.events,
        }) === true);
    const want = this.needsPackets() || (this.transcode !== undefined && !inDataplane) ? source : null;
    if (this.leg !== want) {
      if (want) addTap(want, this.tap);
      removeTap(this.leg, this.tap);
      this.leg = want;
    }
    if (this.converter && (this.converter !== source || !inDataplane)) {
      const old = this.converter;
      this.converter = null;
      this.convertedWith = undefined;
      if (!old.closed) old.convert?.(undefined);
      old.onChange?.(old);
    }
    if (inDataplane && source && this.converter !== source) {
      this.converter = source;
      source.onChange?.(source);
    }
    if (inDataplane) this.convertedWith = t;
    const rtcp = this.hooks.recording()?.writing === true ? (this.side.pair?.rtcp ?? null) : null;
    if (this.rtcpLeg !== rtcp) {
      if (rtcp) addTap(rtcp, this.rtcpTap);
      removeTap(this.rtcpLeg, this.rtcpTap);
      this.rtcpLeg = rtcp;
    }
  }

  /** True while the tap is installed (tests and query). */
  get tapped(): boolean {
    return this.leg !== null;
  }

  /** Stop insertions, conversion and remove the tap. */
  detach(): void {
    this.dtmfQueue.length = 0;
    this.insertion?.finish();
    this.blockDtmf = this.blockMedia = this.silence = this.detect = this.eventsToAudio = false;
    this.eventsFromAudio = undefined;
    this.sender = undefined;
    this.transcode = undefined;
    if (this.converter && !this.converter.closed) this.converter.convert?.(undefined);
    this.converter = null;
    this.convertedWith = undefined;
    removeTap(this.leg, this.tap);
    removeTap(this.rtcpLeg, this.rtcpTap);
    this.leg = null;
    this.rtcpLeg = null;
  }

  /**
   * Sends a generated packet to the receiving party (through the peer's leg) and records it. It is built in
   * the codec the answer named, which is this party's own when it is converted, so it is converted too.
   */
  send(packet: Buffer): void {
    const out = this.sourceLeg?.sink;
    if (!out?.endpoint || out.closed) return;
    this.convert(packet);
    out.sendToParty(packet);
    this.record(packet, this.sourceLeg!);
  }

  private record(msg: Buffer, leg: RelayLeg, rtcp = false): void {
    const rec = this.hooks.recording();
    if (!rec?.writing) return;
    const out = leg.sink;
    const from = leg.endpoint;
    let ep: UdpEndpoints | undefined;
    if (out?.endpoint && out.family === leg.family)
      ep = {
        srcAddress: out.localAddress,
        srcPort: out.localPort,
        dstAddress: out.endpoint.address,
        dstPort: out.endpoint.port,
      };
    else if (from)
      ep = {
        srcAddress: from.address,
        srcPort: from.port,
        dstAddress: leg.localAddress,
        dstPort: leg.localPort,
      };
    if (ep) rec.packet(this.key, this.channel, ep, msg, rtcp);
  }

  private convert(msg: Buffer): void {
    if (this.transcode && msg.length >= 12 && convertPacket(this.transcode, msg)) this.transcoded++;
  }

  /** How blocked DTMF is replaced (`DTMF-security`); a change starts a fresh replacer. */
  set dtmfSecurity(o: DtmfSecurityOptions) {
    if (this.masker) this.masker.opts = o;
    this.securityOpts = o;
    const r = this.replacer?.opts;
    if (r?.mode === o.mode && r.digit === o.digit && r.frequency === o.frequency && r.volumeDb === o.volumeDb)
      return;
    this.replacer = o.mode === 'drop' ? undefined : new DtmfReplacer(o);
  }

  /** A blocked event packet: dropped, rewritten in place (true: forward it), or replaced by audio. */
  private secure(msg: Buffer, off: number, end: number, leg: RelayLeg): boolean {
    this.blocked++;
    return this.substitute(this.replacer, msg, off, end, leg);
  }

  /** An event packet through `r`: dropped, rewritten in place (true: forward it), or replaced by audio. */
  private substitute(
    r: DtmfReplacer | undefined,
    msg: Buffer,
    off: number,
    end: number,
    leg: RelayLeg,
  ): boolean {
    const out = r?.replace(msg, off, end, this.lastAudioPt ?? this.audioPayloadType) ?? 'drop';
    if (out === 'keep') return true;
    if (out !== 'drop') {
      this.convert(out);
      this.emit(out, leg);
    }
    return false;
  }

  /** Sends a packet made in place of a relayed one (same stream: mapped like it after an insertion). */
  private emit(packet: Buffer, leg: RelayLeg): void {
    const out = leg.sink;
    if (
      (!this.sender || this.sender.relayPacket(packet, performance.now())) &&
      out?.endpoint &&
      !out.closed
    ) {
      out.sendToParty(packet);
      this.record(packet, leg);
    }
  }

  /** Reports an in-band key when it ends, like an RFC 4733 event (volume: nominal, not measured). */
  private readKeys(msg: Buffer, pt: number, leg: RelayLeg): void {
    if (!synthesisable(pt)) return;
    const off = rtpPayloadOffset(msg);
    const end = off < 0 ? -1 : rtpPayloadEnd(msg, off);
    if (end <= off) return;
    this.keyReader ??= new InbandKeyReader();
    const state = this.keyReader.read(pt, msg.subarray(off, end));
    const ts = msg.readUInt32BE(4);
    // A key is confirmed on its second frame: it began one frame earlier.
    if (state.kind === 'key' && state.first) this.keyStart = (ts - (end - off)) >>> 0;
    if (state.kind !== 'end') return;
    const samples = (ts - this.keyStart) >>> 0;
    this.hooks.onDigit(
      this,
      {
        event: state.event,
        digit: dtmfEventToChar(state.event),
        timestamp: this.keyStart,
        durationSamples: samples,
        durationMs: Math.round(samples / 8),
        volume: 10,
        ended: true,
      },
      leg,
    );
  }

  private onPacket(msg: Buffer, leg: RelayLeg, isRtcp: boolean): boolean {
    if (isRtcp) {
      // Multiplexed RTCP: into the recording as it is.
      this.record(msg, leg, true);
      return true;
    }
    if (msg.length < 12) return true;
    const pt = msg[1]! & 0x7f;
    if (pt === this.dtmfPayloadType) {
      const off = rtpPayloadOffset(msg);
      const end = off < 0 ? -1 : rtpPayloadEnd(msg, off);
      if (this.detect) {
        if (end > off) {
          this.detector ??= new DtmfDetector();
          for (const d of this.detector.push(
            msg.subarray(off, end),
            msg.readUInt32BE(4),
            msg.readUInt32BE(8),
          ))
            this.hooks.onDigit(this, d, leg);
        }
      }
      if (this.blockDtmf && !this.secure(msg, off, end, leg)) return false;
      if (!this.blockDtmf && this.eventsToAudio) {
        this.toAudio ??= new DtmfReplacer({ mode: 'tone', keyTones: true });
        if (!this.substitute(this.toAudio, msg, off, end, leg)) return false;
      }
    } else {
      this.lastAudioPt = pt;
      // A party without telephone-event presses keys in-band: detection reads them from its audio.
      if (this.detect && (this.dtmfPayloadType === undefined || this.eventsFromAudio !== undefined))
        this.readKeys(msg, pt, leg);
      if (this.blockDtmf && !this.blockMedia) {
        this.masker ??= new InbandKeyMasker(this.securityOpts);
        this.masker.mask(msg, pt);
      }
      if (this.eventsFromAudio !== undefined && !this.blockMedia) {
        this.fromAudio ??= new InbandEvents();
        const ev = this.fromAudio.packet(msg, pt, this.eventsFromAudio);
        if (ev) {
          this.emit(ev, leg);
          return false;
        }
      }
      if (this.blockMedia) {
        this.blocked++;
        return false;
      }
      if (this.silence) silencePayload(msg, pt);
    }
    this.convert(msg);
    if (this.sender && !this.sender.relayPacket(msg, performance.now())) return false;
    this.primeWaiter?.();
    this.record(msg, leg);
    return true;
  }
}

function addTap(leg: RelayLeg, tap: PacketTap): void {
  leg.taps = [...leg.taps, tap];
  leg.onChange?.(leg);
}

function removeTap(leg: RelayLeg | null, tap: PacketTap): void {
  if (!leg) return;
  leg.taps = leg.taps.filter((t) => t !== tap);
  leg.onChange?.(leg);
}

/** Applies {@link StreamDuties.transcode} to an RTP packet in place. */
function convertPacket(t: Transcoding, msg: Buffer): boolean {
  const off = rtpPayloadOffset(msg);
  const end = off < 0 ? -1 : rtpPayloadEnd(msg, off);
  return end >= off && off >= 0 && transcodePacket(t, msg, off, end);
}

/** Replace a G.711 payload with encoded silence in place (other codecs are left alone). */
function silencePayload(msg: Buffer, pt: number): void {
  const fill = pt === 0 ? ULAW_SILENCE : pt === 8 ? ALAW_SILENCE : -1;
  if (fill < 0) return;
  const off = rtpPayloadOffset(msg);
  const end = off < 0 ? -1 : rtpPayloadEnd(msg, off);
  if (end > off) msg.fill(fill, off, end);
}
