import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeWav } from '../../src/media/wav.js';
import { MemoryWavSink, WAV_HEADER_SIZE, WavWriter, wavHeader } from '../../src/media/wav-writer.js';

test('canonical 44-byte header (golden bytes)', () => {
  const h = wavHeader(8000, 2, 8);
  assert.equal(
    h.toString('hex'),
    '52494646' +
      '2c000000' +
      '57415645' +
      '666d7420' +
      '10000000' +
      '0100' +
      '0200' +
      '401f0000' +
      '007d0000' +
      '0400' +
      '1000' +
      '64617461' +
      '08000000',
  );
  assert.equal(h.length, WAV_HEADER_SIZE);
});

test('streams samples, sizes are zero until patched, correct after close', () => {
  const sink = new MemoryWavSink();
  const w = new WavWriter(sink, { sampleRate: 8000, channels: 2 });
  w.writeChannels([Int16Array.from([1, 2, 3]), Int16Array.from([-1, -2, -3])]);
  assert.equal(sink.bytes().readUInt32LE(40), 0, 'not yet patched');
  w.writeInterleaved(Int16Array.from([4, -4]));
  assert.equal(w.frames, 4);
  w.patchSizes();
  assert.equal(sink.bytes().readUInt32LE(40), 16);
  w.writeInterleaved(Int16Array.from([32767, -32768]));
  w.close();
  w.close(); // idempotent
  const bytes = sink.bytes();
  assert.equal(bytes.length, 44 + 20);
  assert.equal(bytes.readUInt32LE(4), 36 + 20);
  assert.equal(bytes.readUInt32LE(40), 20);
  const d = decodeWav(bytes);
  assert.deepEqual(
    [...d.channels[0]!].map((v) => Math.round(v * 32768)),
    [1, 2, 3, 4, 32767],
  );
  assert.deepEqual(
    [...d.channels[1]!].map((v) => Math.round(v * 32768)),
    [-1, -2, -3, -4, -32768],
  );
  assert.throws(() => w.writeInterleaved(Int16Array.from([1, 1])), /closed/);
});

test('rejects partial frames and bad channel counts', () => {
  const w = new WavWriter(new MemoryWavSink(), { sampleRate: 8000, channels: 2 });
  assert.throws(() => w.writeInterleaved(Int16Array.from([1])), RangeError);
  assert.throws(() => w.writeChannels([Int16Array.from([1])]), RangeError);
  assert.throws(() => new WavWriter(new MemoryWavSink(), { sampleRate: 8000, channels: 0 }), RangeError);
});
