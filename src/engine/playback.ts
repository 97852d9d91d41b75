/**
 * Locally generated RTP inserted into a party's outgoing stream: a prompt (`play media`) or RFC 4733
 * events (`play DTMF`). Each insertion owns one timer chain paced against the monotonic clock (a late
 * timer is caught up on the next tick instead of shifting every later packet), and takes its sequence
 * numbers and timestamps from the stream's {@link RtpSenderState}, so the receiver sees one continuous
 * stream across the start and end of the insertion.
 */
import type { DtmfPacket } from '../media/dtmf.js';
import type { FramePacketizer } from '../media/packetizer.js';
import type { RtpSenderState } from '../media/rtp-sender-state.js';
import { RTP_HEADER_SIZE, writeRtpHeader } from '../wire/rtp.js';

/** Where an insertion goes: the stream's continuity state and a send function (to the receiver). */
export interface InsertTarget {
  state: RtpSenderState;
  send(packet: Buffer): void;
}

/** Packets sent at most per timer tick when catching up after the event loop stalled. */
const MAX_BURST = 5;

/** Common pacing: packet k is due at start + k * interval (ms, monotonic). */
abstract class PacedInsertion {
  protected timer: NodeJS.Timeout | undefined;
  protected t0 = 0;
  protected sent = 0;
  done = false;

  constructor(
    protected readonly target: InsertTarget,
    private readonly onEnd: () => void,
  ) {}

  protected abstract get count(): number;
  protected abstract dueMs(k: number): number;
  protected abstract build(k: number, nowMs: number): Buffer;

  start(): void {
    this.t0 = performance.now();
    this.target.state.beginInsert(this.t0);
    this.tick();
  }

  private tick(): void {
    this.timer = undefined;
    if (this.done) return;
    const now = performance.now();
    for (let burst = 0; burst < MAX_BURST && this.sent < this.count; burst++) {
      if (this.t0 + this.dueMs(this.sent) > now + 1) break;
      this.target.send(this.build(this.sent, now));
      this.sent++;
    }
    if (this.sent >= this.count) {
      this.finish();
      return;
    }
    const wait = Math.max(0, this.t0 + this.dueMs(this.sent) - performance.now());
    this.timer = setTimeout(() => this.tick(), wait);
  }

  /** Ends the insertion now (the relayed stream resumes). Idempotent. */
  finish(): void {
    if (this.done) return;
    this.done = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.target.state.endInsert();
    this.onEnd();
  }
}

export interface PlaybackOptions {
  payloadType: number;
  /** Times to play the prompt (>= 1). */
  repeat: number;
  /** Frame to start from on the first pass. */
  startFrame: number;
  /** What was asked to play, for `query`. */
  source: string;
  /** At most this many frames in all (`repeat-duration`). */
  maxFrames?: number;
}

/** `play media`: a prompt's frames, paced at the packetizer's ptime. */
export class Playback extends PacedInsertion {
  private readonly total: number;
  readonly startedAt = Date.now();

  constructor(
    target: InsertTarget,
    readonly packetizer: FramePacketizer,
    readonly options: PlaybackOptions,
    onEnd: () => void,
  ) {
    super(target, onEnd);
    const frames = packetizer.frameCount;
    const first = Math.min(options.startFrame, frames);
    this.total = Math.min(frames - first + (options.repeat - 1) * frames, options.maxFrames ?? Infinity);
  }

  protected get count(): number {
    return this.total;
  }

  protected dueMs(k: number): number {
    return k * this.packetizer.ptimeMs;
  }

  private fileFrame(k: number): number {
    return (this.options.startFrame + k) % this.packetizer.frameCount;
  }

  protected build(k: number, nowMs: number): Buffer {
    const spf = this.packetizer.samplesPerFrame;
    const st = this.target.state;
    st.insert(k * spf, spf, nowMs);
    const pkt = Buffer.allocUnsafe(RTP_HEADER_SIZE + spf);
    writeRtpHeader(pkt, this.options.payloadType, k === 0, st.seq, st.timestamp, st.ssrc);
    this.packetizer.encodeFrame(this.fileFrame(k), pkt, RTP_HEADER_SIZE);
    return pkt;
  }

  /** Position in the file of the last frame sent, ms (`last-frame-pos`). */
  get lastFramePos(): number {
    if (this.sent === 0)
      return this.packetizer.frameStartMs(Math.min(this.options.startFrame, this.packetizer.frameCount));
    return this.packetizer.frameStartMs(this.fileFrame(this.sent - 1));
  }

  /** Packets sent so far. */
  get packetsSent(): number {
    return this.sent;
  }
}

/** `play DTMF`: a generated RFC 4733 packet sequence. */
export class DtmfInjection extends PacedInsertion {
  constructor(
    target: InsertTarget,
    private readonly packets: readonly DtmfPacket[],
    private readonly payloadType: number,
    onEnd: () => void,
  ) {
    super(target, onEnd);
  }

  protected get count(): number {
    return this.packets.length;
  }

  protected dueMs(k: number): number {
    return this.packets[k]!.atMs;
  }

  protected build(k: number, nowMs: number): Buffer {
    const p = this.packets[k]!;
    const st = this.target.state;
    st.insert(p.tsOffset, p.durationSamples, nowMs);
    const pkt = Buffer.allocUnsafe(RTP_HEADER_SIZE + p.payload.length);
    writeRtpHeader(pkt, this.payloadType, p.marker, st.seq, st.timestamp, st.ssrc);
    p.payload.copy(pkt, RTP_HEADER_SIZE);
    return pkt;
  }
}
