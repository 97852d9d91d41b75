import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DtmfDetector, DtmfError, generateDtmf } from '../../src/media/dtmf.js';
import { RtpSenderState } from '../../src/media/rtp-sender-state.js';
import { serializeRtp } from '../../src/wire/rtp.js';

test('play DTMF "1": the exact RFC 4733 packets, byte by byte', () => {
  const seqn = generateDtmf({ code: '1', durationMs: 100, volume: 10 });
  const st = new RtpSenderState({ clockRate: 8000, initialSsrc: 0xabc, initialSeq: 7, initialTimestamp: 99 });
  st.beginInsert(0);
  const wire = seqn.packets.map((p) => {
    st.insert(p.tsOffset, p.durationSamples, p.atMs);
    return serializeRtp(
      { marker: p.marker, payloadType: 101, sequenceNumber: st.seq, timestamp: st.timestamp, ssrc: st.ssrc },
      p.payload,
    ).toString('hex');
  });
  st.endInsert();
  assert.deepEqual(wire, [
    // V=2, M=1 PT=101, seq 7, ts 99, SSRC 0xabc | event 1, E=0 vol 10, duration 160
    '80e50007' + '00000063' + '00000abc' + '010a00a0',
    '80650008' + '00000063' + '00000abc' + '010a0140', // 320
    '80650009' + '00000063' + '00000abc' + '010a01e0', // 480
    '8065000a' + '00000063' + '00000abc' + '010a0280', // 640
    '8065000b' + '00000063' + '00000abc' + '018a0320', // E=1, 800
    '8065000c' + '00000063' + '00000abc' + '018a0320', // retransmission
    '8065000d' + '00000063' + '00000abc' + '018a0320', // retransmission
  ]);
  assert.deepEqual(
    seqn.packets.map((p) => p.atMs),
    [0, 20, 40, 60, 80, 100, 120],
  );
  assert.equal(seqn.totalMs, 200);
});

test('several digits: each event its own timestamp and marker, spaced by duration + pause', () => {
  const s = generateDtmf({ code: '1#A', durationMs: 60, pauseMs: 40, volume: -8 });
  const starts = s.packets.filter((p) => p.marker);
  assert.deepEqual(
    starts.map((p) => [p.event, p.tsOffset, p.atMs]),
    // 60 ms event: 2 progress + 3 end = 5 packets (100 ms) >= duration + pause, so the next starts at 100.
    [
      [1, 0, 0],
      [11, 800, 100],
      [12, 1600, 200],
    ],
  );
  for (const p of s.packets) assert.equal(p.payload[1]! & 0x3f, 8);
  const ends = s.packets.filter((p) => p.end);
  assert.equal(ends.length, 9);
  assert.ok(ends.every((p) => p.durationSamples === 480));
  // Timestamps within an event are constant; send times strictly increase.
  for (let i = 1; i < s.packets.length; i++) assert.ok(s.packets[i]!.atMs > s.packets[i - 1]!.atMs);
});

test('codes as numbers, durations not a multiple of ptime, clamping', () => {
  const s = generateDtmf({ code: [15, '0'], durationMs: 50 });
  assert.deepEqual(
    s.packets.filter((p) => p.event === 15).map((p) => [p.durationSamples, p.end]),
    [
      [160, false],
      [320, false],
      [400, true],
      [400, true],
      [400, true],
    ],
  );
  assert.equal(
    generateDtmf({ code: 5, durationMs: 1 }).packets[0]!.durationSamples,
    160,
    'at least one ptime',
  );
  assert.deepEqual(
    generateDtmf({ code: '10' })
      .packets.filter((p) => p.marker)
      .map((p) => p.event),
    [1, 0],
    'a string is a sequence of digits',
  );
  assert.equal(generateDtmf({ code: 10 }).packets[0]!.event, 10);
  assert.throws(() => generateDtmf({ code: ['12'] }), DtmfError);
  assert.equal(generateDtmf({ code: 5, volume: 100 }).packets[0]!.payload[1], 63);
  assert.throws(() => generateDtmf({ code: 'x' }), DtmfError);
  assert.throws(() => generateDtmf({ code: 16 }), DtmfError);
  assert.throws(() => generateDtmf({ code: '' }), DtmfError);
});

function feed(
  det: DtmfDetector,
  seq: ReturnType<typeof generateDtmf>,
  ts0 = 1000,
  drop: (i: number) => boolean = () => false,
) {
  const out = [];
  for (const [i, p] of seq.packets.entries())
    if (!drop(i)) out.push(...det.push(p.payload, ts0 + p.tsOffset));
  return out;
}

test('detector reports each digit once, with its duration, retransmitted ends ignored', () => {
  const det = new DtmfDetector();
  const got = feed(det, generateDtmf({ code: '159#', durationMs: 120 }));
  assert.deepEqual(
    got.map((d) => [d.digit, d.durationMs, d.ended]),
    [
      ['1', 120, true],
      ['5', 120, true],
      ['9', 120, true],
      ['#', 120, true],
    ],
  );
  assert.deepEqual(det.flush(), []);
});

test('detector: lost end packets are reported when the next event starts, or on flush', () => {
  const seq = generateDtmf({ code: '12', durationMs: 100 });
  const det = new DtmfDetector();
  // Drop every end packet of the first digit and all of the second.
  const got = feed(det, seq, 0, (i) => seq.packets[i]!.end);
  assert.deepEqual(
    got.map((d) => [d.digit, d.durationSamples, d.ended]),
    [['1', 640, false]],
  );
  assert.deepEqual(
    det.flush().map((d) => [d.digit, d.durationSamples, d.ended]),
    [['2', 640, false]],
  );
});

test('detector: reordered and duplicated packets, late packets of a finished event', () => {
  const seq = generateDtmf({ code: '7', durationMs: 100 });
  const det = new DtmfDetector();
  const p = seq.packets;
  const order = [0, 2, 1, 1, 3, 5, 4, 6, 2];
  const got = order.flatMap((i) => det.push(p[i]!.payload, 500));
  assert.equal(got.length, 1);
  assert.equal(got[0]!.digit, '7');
  assert.equal(got[0]!.durationSamples, 800);
  assert.deepEqual(det.push(Buffer.from('0102'), 900), [], 'malformed payload ignored');
});
