/**
 * Plays 8 kHz mono samples into one RTP stream: G.711 frames from {@link FramePacketizer}, headers from the
 * call's {@link RtpSenderState} (so sequence numbers and timestamps continue across prompts), paced by the
 * shared {@link MediaClock}. Frame i is due at start + i * ptime: sending follows absolute times, so timer
 * jitter never accumulates into drift, and a late tick sends every frame that became due.
 */
import { FramePacketizer } from '../../media/packetizer.js';
import type { RtpSenderState } from '../../media/rtp-sender-state.js';
import { RTP_HEADER_SIZE, writeRtpHeader } from '../../wire/rtp.js';
import type { MediaClock } from './media-clock.js';
import type { AudioFormat } from './sdp-negotiation.js';

/** Why a playback ended. */
export type PlaybackEnd = 'finished' | 'stopped';

/** At most this many frames go out in one tick; beyond that the schedule slips instead of bursting. */
const MAX_BURST = 5;

export class Playback {
  private readonly packetizer: FramePacketizer;
  private next = 0;
  private startMs = 0;
  private removeTask: (() => void) | undefined;
  private done = false;
  /** Packets sent so far. */
  sent = 0;

  constructor(
    samples: Int16Array,
    private readonly format: AudioFormat,
    private readonly state: RtpSenderState,
    private readonly send: (packet: Buffer) => void,
    private readonly clock: MediaClock,
    private readonly onEnd: (reason: PlaybackEnd, playedMs: number) => void,
  ) {
    this.packetizer = new FramePacketizer(samples, { codec: format.codec, ptimeMs: format.ptime });
  }

  get durationMs(): number {
    return this.packetizer.durationMs;
  }

  get active(): boolean {
    return !this.done;
  }

  /** Sends the first frame now and the rest on the clock. */
  start(): void {
    this.startMs = this.clock.now();
    this.state.beginInsert(this.startMs);
    if (this.packetizer.frameCount === 0) {
      this.finish('finished');
      return;
    }
    this.removeTask = this.clock.add((now) => this.step(now));
    this.step(this.startMs);
  }

  /** Stops at once (no further packet leaves). */
  stop(): void {
    this.finish('stopped');
  }

  private step(now: number): void {
    if (this.done) return;
    const p = this.packetizer;
    let due = Math.min(p.frameCount, Math.floor((now - this.startMs) / p.ptimeMs) + 1);
    if (due - this.next > MAX_BURST) {
      // The event loop stalled: keep the stream's timing regular and play the rest later.
      this.startMs += (due - this.next - MAX_BURST) * p.ptimeMs;
      due = this.next + MAX_BURST;
    }
    for (; this.next < due; this.next++) {
      const spf = p.samplesPerFrame;
      this.state.insert(this.next * spf, spf, now);
      const pkt = Buffer.allocUnsafe(RTP_HEADER_SIZE + spf);
      // The marker opens a talkspurt (RFC 3551 section 4.1): the first frame of each prompt.
      writeRtpHeader(
        pkt,
        this.format.payloadType,
        this.next === 0,
        this.state.seq,
        this.state.timestamp,
        this.state.ssrc,
      );
      p.encodeFrame(this.next, pkt, RTP_HEADER_SIZE);
      this.send(pkt);
      this.sent++;
    }
    // Finished once the last frame has played out, not when it was sent: a hangup right after the
    // event must not cut the prompt's tail.
    if (this.next >= p.frameCount && now - this.startMs >= p.frameCount * p.ptimeMs) this.finish('finished');
  }

  private finish(reason: PlaybackEnd): void {
    if (this.done) return;
    this.done = true;
    this.removeTask?.();
    this.removeTask = undefined;
    this.state.endInsert();
    this.onEnd(reason, this.packetizer.frameStartMs(this.next));
  }
}
