import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ALAW_ENCODE, ULAW_ENCODE } from '../../src/media/g711.js';
import { FramePacketizer } from '../../src/media/packetizer.js';

test('20 ms PCMU frames, last one padded with encoded silence', () => {
  const s = Int16Array.from({ length: 400 }, (_, i) => i * 10);
  const p = new FramePacketizer(s, { codec: 'PCMU' });
  assert.equal(p.samplesPerFrame, 160);
  assert.equal(p.frameCount, 3);
  assert.equal(p.durationMs, 50);
  const frames = p.allFrames();
  assert.deepEqual(
    frames.map((f) => f.length),
    [160, 160, 160],
  );
  assert.equal(frames[1]![0], ULAW_ENCODE[1600]);
  assert.equal(frames[2]![79], ULAW_ENCODE[3990]);
  assert.ok(frames[2]!.subarray(80).every((b) => b === 0xff));
});

test('PCMA, ptime 30, writes after an RTP header in a reused buffer', () => {
  const s = new Int16Array(480).fill(1000);
  const p = new FramePacketizer(s, { codec: 'PCMA', ptimeMs: 30 });
  assert.equal(p.samplesPerFrame, 240);
  assert.equal(p.frameCount, 2);
  const buf = Buffer.alloc(12 + 240, 0xee);
  const view = p.encodeFrame(1, buf, 12);
  assert.equal(view.length, 240);
  assert.equal(buf[11], 0xee, 'header untouched');
  assert.ok(buf.subarray(12).every((b) => b === ALAW_ENCODE[1000]));
  assert.throws(() => p.encodeFrame(2), RangeError);
  assert.throws(() => p.encodeFrame(0, Buffer.alloc(10)), RangeError);
});

test('positions for start-pos and last-frame-pos', () => {
  const p = new FramePacketizer(new Int16Array(16000), { codec: 'PCMU' });
  assert.equal(p.frameCount, 100);
  assert.equal(p.frameAtMs(0), 0);
  assert.equal(p.frameAtMs(1010), 50);
  assert.equal(p.frameAtMs(99_999), 100);
  assert.equal(p.frameStartMs(50), 1000);
  assert.equal(new FramePacketizer(new Int16Array(0), { codec: 'PCMU' }).frameCount, 0);
  assert.throws(() => new FramePacketizer(new Int16Array(1), { codec: 'PCMU', ptimeMs: 0 }), RangeError);
});
