/**
 * Cuts 8 kHz mono 16-bit audio into G.711 frames of `ptime` ms (payload bytes only; the RTP header comes
 * from rtp-sender-state.ts). Frames are encoded on demand so a long prompt costs nothing until played;
 * the last frame is padded with encoded silence to a full frame, as receivers expect constant-size frames.
 */
import { type G711Codec, g711Encode, g711Silence } from './g711.js';

export interface PacketizerOptions {
  codec: G711Codec;
  /** Packet interval in ms (default 20). */
  ptimeMs?: number;
  /** Clock rate of the samples (default 8000, the G.711 rate). */
  sampleRate?: number;
}

export class G711Packetizer {
  readonly codec: G711Codec;
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
  }

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
    g711Encode(this.codec, this.samples.subarray(start, end), dst, offset);
    if (end - start < n) dst.fill(g711Silence(this.codec), offset + end - start, offset + n);
    return dst.subarray(offset, offset + n);
  }

  /** All frames (tests and short prompts). */
  allFrames(): Buffer[] {
    return Array.from({ length: this.frameCount }, (_, i) => this.encodeFrame(i));
  }
}
