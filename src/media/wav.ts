/**
 * WAV (RIFF/WAVE) decoding to float channels: integer PCM 8/16/24/32-bit, IEEE float 32/64-bit, A-law and
 * µ-law (format tags 6 and 7), and WAVE_FORMAT_EXTENSIBLE carrying any of those. Chunks other than `fmt `
 * and `data` are skipped. A `data` chunk whose declared size runs past the end of the file (a recording
 * that was never finalised, or size 0xFFFFFFFF from a streaming writer) is read as far as the bytes go.
 */
import { ALAW_DECODE, ULAW_DECODE } from './g711.js';

/** Unreadable or unsupported WAV. */
export class WavError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WavError';
  }
}

export interface DecodedAudio {
  sampleRate: number;
  /** One array per channel, samples nominally in [-1, 1). */
  channels: Float32Array[];
}

export const WAVE_FORMAT_PCM = 1;
export const WAVE_FORMAT_IEEE_FLOAT = 3;
export const WAVE_FORMAT_ALAW = 6;
export const WAVE_FORMAT_MULAW = 7;
export const WAVE_FORMAT_EXTENSIBLE = 0xfffe;

/** Refused above this: a prompt has no business having more. */
const MAX_CHANNELS = 16;
const MAX_RATE = 768_000;
/** Below this a file is garbage or a trick to make resampling blow up the output size. */
const MIN_RATE = 1000;

interface Fmt {
  format: number;
  channels: number;
  sampleRate: number;
  blockAlign: number;
  bits: number;
}

/** True when the bytes start like a RIFF/WAVE file. */
export function isWav(bytes: Uint8Array): boolean {
  return (
    bytes.length >= 12 &&
    Buffer.from(bytes.buffer, bytes.byteOffset, 12).toString('latin1', 0, 4) === 'RIFF' &&
    Buffer.from(bytes.buffer, bytes.byteOffset, 12).toString('latin1', 8, 12) === 'WAVE'
  );
}

/** Decode a WAV file. Throws {@link WavError} on anything unreadable; never anything else. */
export function decodeWav(bytes: Uint8Array): DecodedAudio {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (!isWav(buf)) throw new WavError('not a RIFF/WAVE file');
  let fmt: Fmt | undefined;
  let o = 12;
  while (o + 8 <= buf.length) {
    const id = buf.toString('latin1', o, o + 4);
    const size = buf.readUInt32LE(o + 4);
    const body = o + 8;
    if (id === 'fmt ') {
      if (body + Math.min(size, 16) > buf.length || size < 16) throw new WavError('truncated fmt chunk');
      fmt = parseFmt(buf.subarray(body, body + Math.min(size, buf.length - body)));
    } else if (id === 'data') {
      if (!fmt) throw new WavError('data chunk before fmt chunk');
      const end = Math.min(body + size, buf.length);
      return { sampleRate: fmt.sampleRate, channels: decodeSamples(buf.subarray(body, end), fmt) };
    }
    o = body + size + (size & 1); // chunks are word-aligned
  }
  throw new WavError(fmt ? 'no data chunk' : 'no fmt chunk');
}

function parseFmt(c: Buffer): Fmt {
  let format = c.readUInt16LE(0);
  const channels = c.readUInt16LE(2);
  const sampleRate = c.readUInt32LE(4);
  const blockAlign = c.readUInt16LE(12);
  const bits = c.readUInt16LE(14);
  if (format === WAVE_FORMAT_EXTENSIBLE) {
    // cbSize(2) validBits(2) channelMask(4) then the sub-format GUID whose first two bytes are the tag.
    if (c.length < 26) throw new WavError('truncated WAVE_FORMAT_EXTENSIBLE fmt chunk');
    format = c.readUInt16LE(24);
  }
  if (channels < 1 || channels > MAX_CHANNELS) throw new WavError(`unsupported channel count ${channels}`);
  if (sampleRate < MIN_RATE || sampleRate > MAX_RATE)
    throw new WavError(`unsupported sample rate ${sampleRate}`);
  const ok =
    (format === WAVE_FORMAT_PCM && (bits === 8 || bits === 16 || bits === 24 || bits === 32)) ||
    (format === WAVE_FORMAT_IEEE_FLOAT && (bits === 32 || bits === 64)) ||
    ((format === WAVE_FORMAT_ALAW || format === WAVE_FORMAT_MULAW) && bits === 8);
  if (!ok) throw new WavError(`unsupported WAV encoding: format ${format}, ${bits} bits`);
  // Trust the bit depth over blockAlign, but refuse a blockAlign that cannot hold one frame.
  const frame = (bits / 8) * channels;
  if (blockAlign !== 0 && blockAlign < frame) throw new WavError(`blockAlign ${blockAlign} too small`);
  return { format, channels, sampleRate, blockAlign: blockAlign || frame, bits };
}

function decodeSamples(data: Buffer, f: Fmt): Float32Array[] {
  const bytesPer = f.bits / 8;
  const frames = Math.floor(data.length / f.blockAlign);
  const channels = Array.from({ length: f.channels }, () => new Float32Array(frames));
  const read = reader(data, f.format, f.bits);
  for (let c = 0; c < f.channels; c++) {
    const ch = channels[c]!;
    let o = c * bytesPer;
    for (let i = 0; i < frames; i++, o += f.blockAlign) ch[i] = read(o);
  }
  return channels;
}

function reader(d: Buffer, format: number, bits: number): (o: number) => number {
  if (format === WAVE_FORMAT_ALAW) return (o) => ALAW_DECODE[d[o]!]! / 32768;
  if (format === WAVE_FORMAT_MULAW) return (o) => ULAW_DECODE[d[o]!]! / 32768;
  if (format === WAVE_FORMAT_IEEE_FLOAT) {
    const r = bits === 32 ? (o: number) => d.readFloatLE(o) : (o: number) => d.readDoubleLE(o);
    // NaN/Infinity in a file must not poison the resampler.
    return (o) => {
      const v = r(o);
      return Number.isFinite(v) ? v : 0;
    };
  }
  switch (bits) {
    case 8:
      return (o) => (d[o]! - 128) / 128; // 8-bit PCM is unsigned
    case 16:
      return (o) => d.readInt16LE(o) / 32768;
    case 24:
      return (o) => d.readIntLE(o, 3) / 8388608;
    default:
      return (o) => d.readInt32LE(o) / 2147483648;
  }
}
