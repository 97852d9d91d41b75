/** Test signals: WAV files of every common kind built from float channels, tone checks, MP3 via lame. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { alawEncodeSample, ulawEncodeSample } from '../../src/media/g711.js';
import { goertzelPower } from '../../src/media/goertzel.js';
import { sineFloat } from '../../src/media/tone.js';

export type WavKind = 'pcm8' | 'pcm16' | 'pcm24' | 'pcm32' | 'float32' | 'float64' | 'alaw' | 'mulaw';

const KIND: Record<WavKind, { tag: number; bits: number }> = {
  pcm8: { tag: 1, bits: 8 },
  pcm16: { tag: 1, bits: 16 },
  pcm24: { tag: 1, bits: 24 },
  pcm32: { tag: 1, bits: 32 },
  float32: { tag: 3, bits: 32 },
  float64: { tag: 3, bits: 64 },
  alaw: { tag: 6, bits: 8 },
  mulaw: { tag: 7, bits: 8 },
};

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, v));
}

/** A WAV file holding `channels` (float, [-1,1)) in the given encoding; optionally extensible, with a LIST chunk. */
export function makeWav(
  channels: Float32Array[],
  sampleRate: number,
  kind: WavKind,
  opts: { extensible?: boolean; extraChunk?: boolean } = {},
): Buffer {
  const { tag, bits } = KIND[kind];
  const nch = channels.length;
  const frames = channels[0]!.length;
  const bps = bits / 8;
  const data = Buffer.alloc(frames * nch * bps);
  for (let i = 0; i < frames; i++) {
    for (let c = 0; c < nch; c++) {
      const v = channels[c]![i]!;
      const o = (i * nch + c) * bps;
      switch (kind) {
        case 'pcm8':
          data[o] = clamp(Math.round(v * 128) + 128, 0, 255);
          break;
        case 'pcm16':
          data.writeInt16LE(clamp(Math.round(v * 32768), -32768, 32767), o);
          break;
        case 'pcm24':
          data.writeIntLE(clamp(Math.round(v * 8388608), -8388608, 8388607), o, 3);
          break;
        case 'pcm32':
          data.writeInt32LE(clamp(Math.round(v * 2147483648), -2147483648, 2147483647), o);
          break;
        case 'float32':
          data.writeFloatLE(v, o);
          break;
        case 'float64':
          data.writeDoubleLE(v, o);
          break;
        case 'alaw':
          data[o] = alawEncodeSample(Math.round(v * 32767));
          break;
        case 'mulaw':
          data[o] = ulawEncodeSample(Math.round(v * 32767));
          break;
      }
    }
  }
  const fmt = Buffer.alloc(opts.extensible ? 40 : 16);
  fmt.writeUInt16LE(opts.extensible ? 0xfffe : tag, 0);
  fmt.writeUInt16LE(nch, 2);
  fmt.writeUInt32LE(sampleRate, 4);
  fmt.writeUInt32LE(sampleRate * nch * bps, 8);
  fmt.writeUInt16LE(nch * bps, 12);
  fmt.writeUInt16LE(bits, 14);
  if (opts.extensible) {
    fmt.writeUInt16LE(22, 16); // cbSize
    fmt.writeUInt16LE(bits, 18); // valid bits
    fmt.writeUInt32LE(nch === 2 ? 3 : 4, 20); // channel mask
    // KSDATAFORMAT_SUBTYPE_*: tag, then the fixed GUID tail.
    fmt.writeUInt16LE(tag, 24);
    Buffer.from('000000001000800000aa00389b71', 'hex').copy(fmt, 26);
  }
  const chunk = (id: string, body: Buffer) => {
    const h = Buffer.alloc(8);
    h.write(id, 0, 'latin1');
    h.writeUInt32LE(body.length, 4);
    return Buffer.concat([h, body, body.length & 1 ? Buffer.alloc(1) : Buffer.alloc(0)]);
  };
  const parts = [chunk('fmt ', fmt)];
  if (opts.extraChunk) parts.push(chunk('LIST', Buffer.from('INFOISFT\x05\x00\x00\x00test\x00', 'latin1')));
  parts.push(chunk('data', data));
  const body = Buffer.concat([Buffer.from('WAVE'), ...parts]);
  const riff = Buffer.alloc(8);
  riff.write('RIFF', 0, 'latin1');
  riff.writeUInt32LE(body.length, 4);
  return Buffer.concat([riff, body]);
}

/** A tone on every channel (stereo gets the same tone on both, slightly different levels). */
export function toneChannels(freq: number, rate: number, seconds: number, nch: number): Float32Array[] {
  return Array.from({ length: nch }, (_, c) => sineFloat(freq, rate, seconds, 0.5 - c * 0.1));
}

/** Power at `freq` over the strongest of the listed distractor frequencies, on a middle section. */
export function dominance(samples: Int16Array, freq: number, others: number[], rate = 8000): number {
  // Skip the filter's edge transients: 0.25 s from each end when there is room.
  const skip = samples.length > 4 * rate ? Math.floor(rate / 4) : 0;
  const mid = samples.subarray(skip, samples.length - skip);
  const p = goertzelPower(mid, freq, rate);
  return p / Math.max(...others.map((f) => goertzelPower(mid, f, rate)));
}

/** Encode a generated WAV with Debian's lame; undefined when lame is not installed. */
export function lameMp3(wav: Buffer, extraArgs: string[] = []): Buffer | undefined {
  if (spawnSync('lame', ['--version'], { timeout: 20_000 }).error) return undefined;
  const dir = mkdtempSync(join(tmpdir(), 'sipmedia-mp3-'));
  try {
    writeFileSync(join(dir, 'in.wav'), wav);
    const r = spawnSync('lame', ['--quiet', ...extraArgs, join(dir, 'in.wav'), join(dir, 'out.mp3')], {
      timeout: 20_000,
    });
    if (r.status !== 0) throw new Error(`lame failed: ${r.stderr}`);
    return readFileSync(join(dir, 'out.mp3'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
