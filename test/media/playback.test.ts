/**
 * Issue 4 acceptance 1 and issue 5 acceptance 1 at the pure level: a 2 s 1 kHz tone file of various kinds
 * -> prompt loader -> 8 kHz mono -> G.711 packetizer -> RTP headers from the sender state -> decode ->
 * the tone is there. Threshold: power at 1 kHz at least 20x the power at 500 Hz and at 2 kHz (measured
 * values are several orders of magnitude above that; 20x still fails for a wrong rate, which moves the tone).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type G711Codec, G711_PAYLOAD_TYPE, g711Decode } from '../../src/media/g711.js';
import { int16ToFloat } from '../../src/media/mix.js';
import { FramePacketizer } from '../../src/media/packetizer.js';
import { loadPrompt, promptDurationMs } from '../../src/media/prompt.js';
import { RtpSenderState } from '../../src/media/rtp-sender-state.js';
import { MemoryWavSink, WavWriter } from '../../src/media/wav-writer.js';
import { floatToInt16 } from '../../src/media/mix.js';
import { parseRtp, serializeRtp } from '../../src/wire/rtp.js';
import { dominance, lameMp3, makeWav, toneChannels, type WavKind } from './audio-helpers.js';

const THRESHOLD = 20;

/** The tone as a 44.1 kHz stereo 16-bit WAV written by our own streaming writer. */
function ownWriterWav(rate: number): Buffer {
  const sink = new MemoryWavSink();
  const w = new WavWriter(sink, { sampleRate: rate, channels: 2 });
  const ch = toneChannels(1000, rate, 2, 2).map(floatToInt16);
  for (let i = 0; i < ch[0]!.length; i += 4410) w.writeChannels(ch.map((c) => c.subarray(i, i + 4410)));
  w.close();
  return sink.bytes();
}

async function playAndCheck(file: Buffer, codec: G711Codec, expectFrames = 100) {
  const samples = await loadPrompt(file);
  const ms = promptDurationMs(samples);
  assert.ok(Math.abs(ms - 2000) <= 60, `duration ${ms}`);
  const pk = new FramePacketizer(samples, { codec });
  assert.ok(Math.abs(pk.frameCount - expectFrames) <= 3, `frames ${pk.frameCount}`);
  const st = new RtpSenderState({
    clockRate: 8000,
    initialSsrc: 0x5eed,
    initialSeq: 65_500,
    initialTimestamp: 4e9,
  });
  st.beginInsert(0);
  const wire: Buffer[] = [];
  for (let i = 0; i < pk.frameCount; i++) {
    st.insert(i * pk.samplesPerFrame, pk.samplesPerFrame, i * 20);
    const h = {
      marker: i === 0,
      payloadType: G711_PAYLOAD_TYPE[codec],
      sequenceNumber: st.seq,
      timestamp: st.timestamp,
      ssrc: st.ssrc,
    };
    wire.push(serializeRtp(h, pk.encodeFrame(i)));
  }
  st.endInsert();
  // What the far end sees: PT, size, seq +1 and timestamp +160 throughout (across the 16-bit/32-bit wraps).
  const decoded = new Int16Array(wire.length * 160);
  wire.forEach((b, i) => {
    const p = parseRtp(b);
    assert.equal(p.header.payloadType, codec === 'PCMU' ? 0 : 8);
    assert.equal(p.payload.length, 160);
    assert.equal(p.header.sequenceNumber, (65_500 + i) & 0xffff);
    assert.equal(p.header.timestamp, (4e9 + 160 * i) >>> 0);
    g711Decode(codec, p.payload, decoded.subarray(i * 160));
  });
  const d = dominance(decoded, 1000, [500, 2000]);
  assert.ok(d >= THRESHOLD, `1 kHz dominance ${d.toFixed(1)}`);
  // Level: a 0.5/0.4 stereo tone folds to 0.45 of full scale.
  const rms = Math.sqrt(int16ToFloat(decoded.subarray(800, 15200)).reduce((s, v) => s + v * v, 0) / 14400);
  assert.ok(Math.abs(rms - 0.45 / Math.SQRT2) < 0.03, `rms ${rms}`);
  return d;
}

test('44.1 kHz stereo 16-bit WAV (own writer) -> PCMU: ~100 frames of 160 bytes, 1 kHz tone', async () => {
  await playAndCheck(ownWriterWav(44100), 'PCMU');
});

test('44.1 kHz stereo 16-bit WAV -> PCMA', async () => {
  await playAndCheck(makeWav(toneChannels(1000, 44100, 2, 2), 44100, 'pcm16'), 'PCMA');
});

const CASES: Array<[string, number, WavKind, boolean]> = [
  ['16 kHz stereo 16-bit', 16000, 'pcm16', false],
  ['48 kHz stereo 24-bit', 48000, 'pcm24', false],
  ['22.05 kHz mono 24-bit extensible', 22050, 'pcm24', true],
  ['8 kHz stereo µ-law', 8000, 'mulaw', false],
  ['8 kHz mono A-law', 8000, 'alaw', false],
  ['32 kHz stereo float32', 32000, 'float32', false],
  ['11.025 kHz stereo 8-bit', 11025, 'pcm8', false],
];
for (const [name, rate, kind, extensible] of CASES) {
  test(`${name} WAV -> PCMU`, async () => {
    const nch = name.includes('mono') ? 1 : 2;
    const ch = toneChannels(1000, rate, 2, nch);
    if (nch === 1) ch[0] = ch[0]!.map((v) => v * 0.9); // same 0.45 level as the stereo fold
    await playAndCheck(makeWav(ch, rate, kind, { extensible }), 'PCMU');
  });
}

for (const codec of ['PCMU', 'PCMA'] as const) {
  test(`MP3 (lame, 44.1 kHz stereo) -> ${codec}`, async (t) => {
    const mp3 = lameMp3(makeWav(toneChannels(1000, 44100, 2, 2), 44100, 'pcm16'), ['-b', '128']);
    if (!mp3) {
      t.skip('MISSING PEER: lame not installed');
      return;
    }
    await playAndCheck(mp3, codec, 101);
  });
}

test('a wrong pipeline would fail: 2 kHz tone does not pass the 1 kHz check', async () => {
  const samples = await loadPrompt(makeWav(toneChannels(2000, 44100, 2, 2), 44100, 'pcm16'));
  assert.ok(dominance(samples, 1000, [500, 2000]) < 1);
});
