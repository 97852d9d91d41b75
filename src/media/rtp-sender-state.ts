/**
 * Sequence/timestamp continuity for one outgoing RTP stream (one direction towards one receiver) into
 * which locally generated packets (playback, DTMF) are inserted between relayed ones.
 *
 * The receiver must see one SSRC whose sequence numbers and timestamps only move forward: its jitter
 * buffer would otherwise discard or stall. So:
 *
 * - Until the first insertion, relayed packets pass unchanged (the output follows the input, SSRC changes
 *   included) and the state only remembers the last header sent.
 * - An insertion continues the output: seq = last + 1, timestamps from `base`, where base is the wall-clock
 *   estimate of "now" on the output's media clock (last relayed timestamp + elapsed time), never earlier
 *   than the end of the last packet sent.
 * - After an insertion, the next relayed packet is re-anchored the same way: from then on relayed packets
 *   get fixed offsets (seq and timestamp) and the output SSRC, so their own spacing (gaps, losses) is kept.
 *   Late relayed packets that would land on or before the last inserted sequence number are dropped.
 * - An input SSRC change while rewriting re-anchors too.
 *
 * Pure state: the caller supplies `nowMs` (any monotonic clock in ms) and owns timers and sockets. Relayed
 * packets that arrive while an insertion runs are refused (`relay` returns false): the insertion owns the
 * stream until {@link RtpSenderState.endInsert}.
 */
import {
  readSeq,
  readSsrc,
  readTimestamp,
  seqDiff,
  tsDiff,
  writeMarker,
  writeSeq,
  writeSsrc,
  writeTimestamp,
} from '../wire/rtp.js';

export interface RtpSenderStateOptions {
  /** RTP clock rate of the stream (8000 for G.711 and its telephone-event). */
  clockRate: number;
  /** Identity used when an insertion starts before anything was relayed (pick at random). */
  initialSsrc: number;
  initialSeq: number;
  initialTimestamp: number;
  /** Frame length assumed for relayed packets until learned from the stream (default 20 ms). */
  frameSamples?: number;
}

/** After this many packets past the last inserted one, the late-packet guard is no longer needed. */
const GUARD_WINDOW = 3000;

export class RtpSenderState {
  /** Header fields of the last packet computed by `relay`/`insert` (read them right after the call). */
  seq = 0;
  timestamp = 0;
  ssrc = 0;
  /** True when the relayed packet just computed is the first after a discontinuity (re-anchor). */
  marker = false;

  private readonly clockRate: number;
  private frameSamples: number;
  private readonly initial: { ssrc: number; seq: number; ts: number };

  private haveOut = false;
  private lastOutSeq = 0;
  /** Earliest timestamp a new burst may use: the end of the latest packet sent. */
  private nextMinTs = 0;
  /** A (timestamp, time) pair on the output media clock, for estimating "now" in timestamp units. */
  private refTs = 0;
  private refTimeMs = 0;

  private everInserted = false;
  private insertActive = false;
  private insertBase = 0;

  private mapped = false;
  private needAnchor = false;
  private inSsrc = 0;
  private seqOffset = 0;
  private tsOffset = 0;
  private guardActive = false;
  private guardSeq = 0;

  private haveIn = false;
  private lastInSeq = 0;
  private lastInTs = 0;
  private lastInSsrc = 0;

  constructor(options: RtpSenderStateOptions) {
    this.clockRate = options.clockRate;
    this.frameSamples = options.frameSamples ?? Math.round(options.clockRate / 50);
    this.initial = {
      ssrc: options.initialSsrc >>> 0,
      seq: options.initialSeq & 0xffff,
      ts: options.initialTimestamp >>> 0,
    };
    this.ssrc = this.initial.ssrc;
  }

  /** True while an insertion owns the stream. */
  get inserting(): boolean {
    return this.insertActive;
  }

  /** True when relayed packets' headers must be rewritten (after the first insertion). */
  get rewriting(): boolean {
    return this.everInserted;
  }

  /** Timestamp the current insertion's offsets count from. */
  get base(): number {
    return this.insertBase;
  }

  /**
   * A relayed packet with input header (seq, ts, ssrc). Returns false to drop it (an insertion is running,
   * or it arrived too late to keep the output monotonic); otherwise `seq`/`timestamp`/`ssrc`/`marker` hold
   * the header to send.
   */
  relay(seq: number, ts: number, ssrc: number, nowMs: number): boolean {
    if (this.insertActive) return false;
    this.learnFrame(seq, ts, ssrc);
    this.marker = false;
    if (!this.everInserted) {
      // Passthrough: a new input SSRC is a new output stream; forget the old one's numbering.
      if (ssrc !== this.ssrc) this.haveOut = false;
      this.seqOffset = 0;
      this.tsOffset = 0;
      this.inSsrc = ssrc;
    } else if (!this.mapped || this.needAnchor || ssrc !== this.inSsrc) {
      this.anchor(seq, ts, ssrc, nowMs);
    }
    const outSeq = (seq + this.seqOffset) & 0xffff;
    const outTs = (ts + this.tsOffset) >>> 0;
    if (this.guardActive) {
      const d = seqDiff(outSeq, this.guardSeq);
      if (d <= 0) return false;
      if (d > GUARD_WINDOW) this.guardActive = false;
    }
    this.seq = outSeq;
    this.timestamp = outTs;
    this.ssrc = this.everInserted ? this.ssrc : ssrc;
    this.noteSent(outSeq, outTs, this.frameSamples, nowMs, true);
    return true;
  }

  /** {@link relay} on a packet buffer, rewriting its header in place when needed. */
  relayPacket(buf: Buffer, nowMs: number, markOnAnchor = true): boolean {
    if (!this.relay(readSeq(buf), readTimestamp(buf), readSsrc(buf), nowMs)) return false;
    if (this.everInserted) {
      writeSeq(buf, this.seq);
      writeTimestamp(buf, this.timestamp);
      writeSsrc(buf, this.ssrc);
      if (this.marker && markOnAnchor) writeMarker(buf, true);
    }
    return true;
  }

  /** Start an insertion at `nowMs`; relayed packets are refused until {@link endInsert}. */
  beginInsert(nowMs: number): void {
    if (this.insertActive) return;
    this.insertActive = true;
    this.everInserted = true;
    if (this.haveOut) {
      this.insertBase = this.continueAt(nowMs);
    } else {
      this.insertBase = this.initial.ts;
      this.lastOutSeq = (this.initial.seq - 1) & 0xffff;
      this.ssrc = this.initial.ssrc;
      this.nextMinTs = this.insertBase;
    }
    this.refTs = this.insertBase;
    this.refTimeMs = nowMs;
  }

  /**
   * Header of the next inserted packet: the next sequence number and timestamp `base + tsOffset`.
   * `durationSamples` is the media time the packet covers from its timestamp (a frame for audio; for a
   * DTMF packet the event duration so far), so later packets never start inside it.
   */
  insert(tsOffset: number, durationSamples: number, nowMs: number): void {
    if (!this.insertActive) throw new Error('insert() outside beginInsert()/endInsert()');
    const seq = (this.lastOutSeq + 1) & 0xffff;
    const ts = (this.insertBase + tsOffset) >>> 0;
    this.seq = seq;
    this.timestamp = ts;
    this.marker = false;
    this.noteSent(seq, ts, durationSamples, nowMs, false);
  }

  /** End the insertion; the next relayed packet is re-anchored after what was inserted. */
  endInsert(): void {
    if (!this.insertActive) return;
    this.insertActive = false;
    this.needAnchor = true;
    this.guardActive = this.haveOut;
    this.guardSeq = this.lastOutSeq;
  }

  /** Translate a timestamp of the relayed input (e.g. an RTCP SR's) to the output's timeline. */
  mapTimestamp(ts: number): number {
    return (ts + this.tsOffset) >>> 0;
  }

  private anchor(seq: number, ts: number, ssrc: number, nowMs: number): void {
    const targetSeq = (this.lastOutSeq + 1) & 0xffff;
    const targetTs = this.continueAt(nowMs);
    this.seqOffset = (targetSeq - seq) & 0xffff;
    this.tsOffset = (targetTs - ts) >>> 0;
    this.inSsrc = ssrc;
    this.mapped = true;
    this.needAnchor = false;
    this.marker = true;
  }

  /** Output timestamp for "now": the clock estimate, but never inside the last packet sent. */
  private continueAt(nowMs: number): number {
    const est = (this.refTs + Math.round(((nowMs - this.refTimeMs) * this.clockRate) / 1000)) >>> 0;
    return tsDiff(est, this.nextMinTs) >= 0 ? est : this.nextMinTs;
  }

  private noteSent(seq: number, ts: number, duration: number, nowMs: number, relayed: boolean): void {
    if (!this.haveOut || seqDiff(seq, this.lastOutSeq) > 0) this.lastOutSeq = seq;
    const end = (ts + Math.max(0, duration)) >>> 0;
    if (!this.haveOut || tsDiff(end, this.nextMinTs) > 0) this.nextMinTs = end;
    // Relayed packets keep the media clock in step with the sender; inserted ones follow the clock set at
    // beginInsert (they are paced by the caller's timer in real time).
    if (relayed && (!this.haveOut || tsDiff(ts, this.refTs) >= 0)) {
      this.refTs = ts;
      this.refTimeMs = nowMs;
    }
    this.haveOut = true;
  }

  private learnFrame(seq: number, ts: number, ssrc: number): void {
    if (this.haveIn && ssrc === this.lastInSsrc && seqDiff(seq, this.lastInSeq) === 1) {
      const d = tsDiff(ts, this.lastInTs);
      if (d > 0 && d <= this.clockRate) this.frameSamples = d;
    }
    if (!this.haveIn || ssrc !== this.lastInSsrc || seqDiff(seq, this.lastInSeq) > 0) {
      this.lastInSeq = seq;
      this.lastInTs = ts;
      this.lastInSsrc = ssrc;
    }
    this.haveIn = true;
  }
}
