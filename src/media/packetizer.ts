/**
 * Cuts 8 kHz mono 16-bit audio into G.711 or G.722 frames of `ptime` ms (payload bytes only; the RTP header
 * comes from rtp-sender-state.ts). Frames are encoded on demand so a long prompt costs nothing until played;
 * the last frame is padded with silence to a full frame, as receivers expect constant-size frames. G.722
 * (its lower band: one byte per 8 kHz sample, see g722.ts) keeps ADPCM state, so its frames are meant to be
 * asked for in order, as playback does.
 */
import { g711Encode } from './g711.js';
import { G722Encoder } from './g722.js';
import type { NarrowbandCodec } from './narrowband-convert.js';

export interface PacketizerOptions {
  codec: NarrowbandCodec;
  /** Packet interval in ms (default 20). */
  ptimeMs?: number;
  /** Clock rate of the samples (default 8000, the G.711 rate). */
  sampleRate?: number;
}

export class FramePacketizer {
  readonly codec: NarrowbandCodec;
  readonly ptimeMs: number;
  readonly sampleRate: number;
  /** Samples (= timestamp units) per frame. */
  readonly samplesPerFrame: number;
  /** Frames needed to carry all samples (the last one possibly padded). */
  readonly frameCount: number;

  constructor(
    private readonly samples: Int16Array,
    options: PacketizerOptions,
  ) {
    this.codec = options.codec;
    this.ptimeMs = options.ptimeMs ?? 20;
    this.sampleRate = options.sampleRate ?? 8000;
    this.samplesPerFrame = Math.round((this.sampleRate * this.ptimeMs) / 1000);
    if (!Number.isInteger(this.ptimeMs) || this.ptimeMs <= 0 || this.samplesPerFrame < 1) {
      throw new RangeError(`bad ptime ${this.ptimeMs}`);
    }
    this.frameCount = Math.ceil(samples.length / this.samplesPerFrame);
    if (this.codec === 'G722') this.g722 = new G722Encoder();
  }

  private readonly g722: G722Encoder | undefined;
  private frame: Int16Array | undefined;

  /** Duration of the audio in ms (not rounded up to whole frames). */
  get durationMs(): number {
    return Math.round((this.samples.length * 1000) / this.sampleRate);
  }

  /** Index of the frame that contains the position `ms` (for start-pos), clamped to the frame count. */
  frameAtMs(ms: number): number {
    const f = Math.floor((Math.max(0, ms) * this.sampleRate) / 1000 / this.samplesPerFrame);
    return Math.min(f, this.frameCount);
  }

  /** Position of the start of frame `index` in ms (for last-frame-pos). */
  frameStartMs(index: number): number {
    return Math.round((index * this.samplesPerFrame * 1000) / this.sampleRate);
  }

  /**
   * Encoded payload of frame `index` (0-based). Writes into `out` at `offset` when given (e.g. just after
   * a 12-byte RTP header in a reused packet buffer) and returns the bytes written as a view.
   */
  encodeFrame(index: number, out?: Buffer, offset = 0): Buffer {
    if (!Number.isInteger(index) || index < 0 || index >= this.frameCount) {
      throw new RangeError(`frame ${index} outside 0..${this.frameCount - 1}`);
    }
    const n = this.samplesPerFrame;
    const dst = out ?? Buffer.alloc(n);
    if (dst.length - offset < n) throw new RangeError('output buffer too small');
    const start = index * n;
    const end = Math.min(start + n, this.samples.length);
    let pcm = this.samples.subarray(start, end);
    if (end - start < n) {
      // The last frame: padded with silence before encoding (so G.722's state sees it too).
      this.frame ??= new Int16Array(n);
      this.frame.fill(0).set(pcm);
      pcm = this.frame;
    }
    const frame = dst.subarray(offset, offset + n);
    if (this.g722) this.g722.encode(pcm, frame);
    else g711Encode(this.codec as 'PCMU' | 'PCMA', pcm, frame);
    return frame;
  }

  /** All frames (tests and short prompts). */
  allFrames(): Buffer[] {
    return Array.from({ length: this.frameCount }, (_, i) => this.encodeFrame(i));
  }
}
