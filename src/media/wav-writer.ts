/**
 * Streaming 16-bit PCM WAV writer: a 44-byte canonical header first (sizes zero), samples appended as
 * they come, the RIFF and data sizes patched in place on {@link WavWriter.patchSizes} and on close. The
 * caller owns the file through a {@link WavSink}, so this stays free of I/O and a recording can patch
 * the header periodically (a crash then leaves a playable file).
 */

/** Where the bytes go. `writeAt` overwrites earlier bytes (only the header is ever rewritten). */
export interface WavSink {
  write(data: Buffer): void;
  writeAt(data: Buffer, position: number): void;
}

export const WAV_HEADER_SIZE = 44;
/** RIFF sizes are 32-bit: stop accepting samples before the data size would overflow. */
const MAX_DATA_BYTES = 0xffffffff - 36;

export interface WavWriterOptions {
  sampleRate: number;
  channels?: number;
}

/** The 44-byte header of a 16-bit PCM WAV with `dataBytes` of samples. */
export function wavHeader(sampleRate: number, channels: number, dataBytes: number): Buffer {
  const h = Buffer.alloc(WAV_HEADER_SIZE);
  h.write('RIFF', 0, 'latin1');
  h.writeUInt32LE(36 + dataBytes, 4);
  h.write('WAVE', 8, 'latin1');
  h.write('fmt ', 12, 'latin1');
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20); // PCM
  h.writeUInt16LE(channels, 22);
  h.writeUInt32LE(sampleRate, 24);
  h.writeUInt32LE(sampleRate * channels * 2, 28);
  h.writeUInt16LE(channels * 2, 32);
  h.writeUInt16LE(16, 34);
  h.write('data', 36, 'latin1');
  h.writeUInt32LE(dataBytes, 40);
  return h;
}

export class WavWriter {
  readonly sampleRate: number;
  readonly channels: number;
  private dataBytes = 0;
  private closed = false;
  /** True once samples were dropped because the 4 GiB RIFF limit was reached. */
  full = false;

  constructor(
    private readonly sink: WavSink,
    options: WavWriterOptions,
  ) {
    this.sampleRate = options.sampleRate;
    this.channels = options.channels ?? 1;
    if (!Number.isInteger(this.channels) || this.channels < 1 || this.channels > 64) {
      throw new RangeError(`bad channel count ${this.channels}`);
    }
    sink.write(wavHeader(this.sampleRate, this.channels, 0));
  }

  /** Bytes of sample data written so far. */
  get dataLength(): number {
    return this.dataBytes;
  }

  /** Frames (samples per channel) written so far. */
  get frames(): number {
    return this.dataBytes / (2 * this.channels);
  }

  /** Append interleaved samples (length a multiple of the channel count). */
  writeInterleaved(samples: Int16Array): void {
    if (this.closed) throw new Error('WavWriter is closed');
    if (samples.length % this.channels !== 0) throw new RangeError('partial frame');
    const bytes = samples.length * 2;
    if (this.dataBytes + bytes > MAX_DATA_BYTES) {
      this.full = true;
      return;
    }
    const b = Buffer.alloc(bytes);
    for (let i = 0; i < samples.length; i++) b.writeInt16LE(samples[i]!, i * 2);
    this.sink.write(b);
    this.dataBytes += bytes;
  }

  /** Append one block per channel (equal lengths), interleaving them. */
  writeChannels(channels: readonly Int16Array[]): void {
    if (channels.length !== this.channels) throw new RangeError('channel count mismatch');
    const n = channels[0]?.length ?? 0;
    const inter = new Int16Array(n * this.channels);
    for (let c = 0; c < this.channels; c++) {
      const ch = channels[c]!;
      if (ch.length !== n) throw new RangeError('channels of unequal length');
      for (let i = 0; i < n; i++) inter[i * this.channels + c] = ch[i]!;
    }
    this.writeInterleaved(inter);
  }

  /** Rewrite the header with the current sizes. */
  patchSizes(): void {
    const sizes = Buffer.alloc(4);
    sizes.writeUInt32LE(36 + this.dataBytes);
    this.sink.writeAt(sizes, 4);
    const data = Buffer.alloc(4);
    data.writeUInt32LE(this.dataBytes);
    this.sink.writeAt(data, 40);
  }

  /** Patch the sizes and refuse further writes. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.patchSizes();
    this.closed = true;
  }
}

/** A sink that collects into memory (tests, blobs). */
export class MemoryWavSink implements WavSink {
  private chunks: Buffer[] = [];
  private patches: Array<[Buffer, number]> = [];

  write(data: Buffer): void {
    this.chunks.push(Buffer.from(data));
  }

  writeAt(data: Buffer, position: number): void {
    this.patches.push([Buffer.from(data), position]);
  }

  /** The file as it would be on disk. */
  bytes(): Buffer {
    const out = Buffer.concat(this.chunks);
    for (const [d, p] of this.patches) d.copy(out, p);
    return out;
  }
}
