import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { decodeWav, isWav, WavError } from '../../src/media/wav.js';
import { sineFloat } from '../../src/media/tone.js';
import { makeWav, type WavKind } from './audio-helpers.js';

// Worst-case quantisation error per encoding for a 0.5-amplitude signal.
const TOLERANCE: Record<WavKind, number> = {
  pcm8: 1 / 128,
  pcm16: 1 / 32768,
  pcm24: 1 / 8388608,
  pcm32: 1e-9,
  float32: 1e-7,
  float64: 1e-12,
  alaw: 0.5 * 0.035,
  mulaw: 0.5 * 0.035,
};

const KINDS = Object.keys(TOLERANCE) as WavKind[];

for (const kind of KINDS) {
  for (const extensible of [false, true]) {
    test(`decodes ${kind}${extensible ? ' (WAVE_FORMAT_EXTENSIBLE)' : ''} stereo`, () => {
      const ch = [sineFloat(440, 22050, 0.05, 0.5), sineFloat(880, 22050, 0.05, 0.3)];
      const d = decodeWav(makeWav(ch, 22050, kind, { extensible, extraChunk: true }));
      assert.equal(d.sampleRate, 22050);
      assert.equal(d.channels.length, 2);
      for (let c = 0; c < 2; c++) {
        assert.equal(d.channels[c]!.length, ch[c]!.length);
        let worst = 0;
        for (let i = 0; i < ch[c]!.length; i++)
          worst = Math.max(worst, Math.abs(d.channels[c]![i]! - ch[c]![i]!));
        assert.ok(worst <= TOLERANCE[kind] + 1e-9, `${kind} ch${c} error ${worst}`);
      }
    });
  }
}

test('golden 16-bit mono file: header fields and samples', () => {
  const hex =
    '52494646' +
    '2c000000' +
    '57415645' + // RIFF, size 44, WAVE
    '666d7420' +
    '10000000' +
    '0100' +
    '0100' +
    '401f0000' +
    '803e0000' +
    '0200' +
    '1000' + // fmt: PCM mono 8000
    '64617461' +
    '08000000' +
    '0000' +
    'ff7f' +
    '0080' +
    '0040'; // data: 0, 32767, -32768, 16384
  const d = decodeWav(Buffer.from(hex, 'hex'));
  assert.equal(d.sampleRate, 8000);
  assert.deepEqual([...d.channels[0]!], [0, 32767 / 32768, -1, 0.5]);
});

test('8-bit PCM is unsigned', () => {
  const wav = makeWav([Float32Array.from([0, 0.5, -0.5, -1])], 8000, 'pcm8');
  assert.deepEqual([...decodeWav(wav).channels[0]!], [0, 0.5, -0.5, -1]);
});

test('a truncated data chunk yields the whole frames present', () => {
  const wav = makeWav([sineFloat(440, 8000, 0.1), sineFloat(440, 8000, 0.1)], 8000, 'pcm16');
  const cut = wav.subarray(0, wav.length - 3); // 1 byte into the last frame lost + 2
  const d = decodeWav(cut);
  assert.equal(d.channels[0]!.length, 800 - 1);
  // A streaming writer's 0xffffffff data size is read up to the end of the file.
  const streaming = Buffer.from(wav);
  streaming.writeUInt32LE(0xffffffff, streaming.indexOf('data') + 4);
  assert.equal(decodeWav(streaming).channels[0]!.length, 800);
});

test('isWav', () => {
  assert.equal(isWav(makeWav([new Float32Array(1)], 8000, 'pcm16')), true);
  assert.equal(isWav(Buffer.from('ID3\x03')), false);
});

test('unreadable files are WavError with a reason', () => {
  const good = makeWav([sineFloat(440, 8000, 0.01)], 8000, 'pcm16');
  const withFmt = (patch: (b: Buffer) => void) => {
    const b = Buffer.from(good);
    patch(b);
    return b;
  };
  const cases: Array<[Buffer, RegExp]> = [
    [Buffer.alloc(0), /not a RIFF/],
    [Buffer.from('RIFF\x00\x00\x00\x00WAVX'), /not a RIFF/],
    [Buffer.from('RIFF\x04\x00\x00\x00WAVE'), /no fmt chunk/],
    [good.subarray(0, 36), /no data chunk/],
    [good.subarray(0, 24), /truncated fmt/],
    [withFmt((b) => b.writeUInt16LE(2, 20)), /unsupported WAV encoding: format 2/], // ADPCM
    [withFmt((b) => b.writeUInt16LE(12, 34)), /12 bits/],
    [withFmt((b) => b.writeUInt16LE(0, 22)), /channel count 0/],
    [withFmt((b) => b.writeUInt32LE(0, 24)), /sample rate 0/],
    [withFmt((b) => b.writeUInt16LE(1, 32)), /blockAlign 1/],
  ];
  for (const [bytes, re] of cases) {
    assert.throws(
      () => decodeWav(bytes),
      (e: unknown) => e instanceof WavError && re.test(e.message),
      re.source,
    );
  }
});

test('fuzz: decodeWav throws only WavError (garbage, and mutations of a valid file)', () => {
  const good = makeWav([sineFloat(440, 8000, 0.005)], 8000, 'pcm24', { extensible: true, extraChunk: true });
  fc.assert(
    fc.property(
      fc.oneof(
        fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.concat([Buffer.from('RIFF\0\0\0\0WAVE'), a])),
        fc
          .tuple(
            fc.array(fc.tuple(fc.nat(good.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }),
            fc.nat(good.length),
          )
          .map(([muts, len]) => {
            const b = Buffer.from(good.subarray(0, len));
            for (const [i, v] of muts) if (i < b.length) b[i] = v;
            return b;
          }),
      ),
      (b) => {
        try {
          decodeWav(b);
        } catch (e) {
          assert.ok(e instanceof WavError, String(e));
        }
      },
    ),
    { numRuns: 3000 },
  );
});
