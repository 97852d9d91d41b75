import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { generateDtmf } from '../../src/media/dtmf.js';
import { dtmfKeyIn, dtmfToneSamples } from '../../src/media/dtmf-tones.js';
import { g711Decode, g711Encode, ulawDecodeSample } from '../../src/media/g711.js';
import { toneDominance } from '../../src/media/goertzel.js';
import type { BDict } from '../../src/wire/bencode.js';
import { Endpoint, rtp } from '../helpers/endpoint.js';
import { type RunningProxy, startProxy } from '../helpers/proxy.js';
import { collect, collectUntilQuiet, mediaCall, PCMA, PCMU } from './media-helpers.js';

let p: RunningProxy;
let logged: RunningProxy;
let sink: Endpoint;

before(async () => {
  p = await startProxy(['--delete-delay=0']);
  // A second daemon whose DTMF log goes to a socket of this test.
  const port = p.spare[79]!;
  sink = await Endpoint.open(port);
  logged = await startProxy(['--delete-delay=0', `--dtmf-log-dest=127.0.0.1:${port}`]);
});
after(async () => {
  sink.close();
  await p.stop();
  await logged.stop();
});

const ev = (digit: number, end: boolean, dur: number) =>
  Buffer.from([digit, end ? 0x8a : 0x0a, dur >> 8, dur & 0xff]);

/** A mixed stream from A: audio (PT 0) and events (PT 101). Returns the packets, in order. */
function mixed(startSeq: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < 12; i++) {
    const seq = startSeq + i;
    out.push(i % 3 === 1 ? rtp(101, seq, 1000, 0xa, ev(5, i > 8, 160 * i)) : rtp(0, seq, 160 * i, 0xa));
  }
  return out;
}

test('block DTMF drops exactly the telephone-event packets; unblock lets them through again', async () => {
  const c = await mediaCall(p);
  try {
    const r = await p.ng.request({ command: 'block DTMF', 'call-id': c.callId });
    assert.equal(r.result, 'ok', JSON.stringify(r));
    const pkts = mixed(100);
    for (const k of pkts) c.a.send(k, c.toProxyFromA);
    const want = pkts.filter((k) => (k[1]! & 0x7f) !== 101);
    const got = await collect(c.b, want.length);
    assert.deepEqual(
      got.map((k) => k.readUInt16BE(2)),
      want.map((k) => k.readUInt16BE(2)),
      'every audio packet, in order, and no event packet',
    );
    const q = await p.ng.request({ command: 'query', 'call-id': c.callId });
    assert.deepEqual(q['media control'], ['dtmf']);

    assert.equal((await p.ng.request({ command: 'unblock DTMF', 'call-id': c.callId })).result, 'ok');
    const again = mixed(200);
    for (const k of again) c.a.send(k, c.toProxyFromA);
    const all = await collect(c.b, again.length);
    assert.deepEqual(
      all.map((k) => k.readUInt16BE(2)),
      again.map((k) => k.readUInt16BE(2)),
    );
  } finally {
    c.close();
  }
});

test('directional block DTMF applies to the selected party only', async () => {
  const c = await mediaCall(p);
  try {
    const r = await p.ng.request({
      command: 'block DTMF',
      'call-id': c.callId,
      'from-tag': 'tagB',
      flags: ['directional'],
    });
    assert.equal(r.result, 'ok');
    const fromA = mixed(300);
    for (const k of fromA) c.a.send(k, c.toProxyFromA);
    assert.equal((await collect(c.b, fromA.length)).length, fromA.length, "A's events still pass");
    const fromB = mixed(400).map((k) => Buffer.from(k));
    for (const k of fromB) c.b.send(k, c.toProxyFromB);
    const want = fromB.filter((k) => (k[1]! & 0x7f) !== 101).map((k) => k.readUInt16BE(2));
    assert.deepEqual(
      (await collect(c.a, want.length)).map((k) => k.readUInt16BE(2)),
      want,
    );
  } finally {
    c.close();
  }
});

test('play DTMF sends RFC 4733 packets byte for byte, with three end packets', async () => {
  const c = await mediaCall(p);
  try {
    const r = await p.ng.request({
      command: 'play DTMF',
      'call-id': c.callId,
      'from-tag': 'tagA',
      code: '7',
      duration: 100,
      volume: 10,
    });
    assert.equal(r.result, 'ok', JSON.stringify(r));
    const want = generateDtmf({ code: '7', durationMs: 100, volume: 10, pauseMs: 100, ptimeMs: 20 }).packets;
    const got = await collect(c.b, want.length);
    const base = got[0]!.readUInt32BE(4);
    for (const [i, w] of want.entries()) {
      const k = got[i]!;
      assert.equal(k[0], 0x80);
      assert.equal(k[1], (w.marker ? 0x80 : 0) | 101, `marker/PT of packet ${i}`);
      assert.deepEqual(k.subarray(12), w.payload, `payload of packet ${i}`);
      assert.equal((k.readUInt32BE(4) - base) >>> 0, w.tsOffset, `timestamp of packet ${i}`);
      if (i > 0) assert.equal((k.readUInt16BE(2) - got[i - 1]!.readUInt16BE(2)) & 0xffff, 1);
    }
    assert.equal(want.filter((w) => w.end).length, 3);
    assert.equal((await collectUntilQuiet(c.b, 150)).length, 0, 'nothing after the sequence');
  } finally {
    c.close();
  }
});

const playDtmfFromA = (callId: string, o: BDict) =>
  p.ng.request({ command: 'play DTMF', 'call-id': callId, 'from-tag': 'tagA', ...o });

test('play DTMF without a negotiated telephone-event plays the keys in-band, in the call codec', async () => {
  const c = await mediaCall(p, { formats: '8', rtpmaps: ['8 PCMA/8000'] });
  try {
    const r = await playDtmfFromA(c.callId, { code: '19', duration: 100, pause: 100 });
    assert.equal(r.result, 'ok', JSON.stringify(r));
    // Two keys of 100 ms, each followed by 100 ms of silence: 20 packets of 20 ms.
    const got = await collect(c.b, 20);
    const keys = got.map((k) => dtmfKeyIn(g711Decode('PCMA', k.subarray(12))) ?? '-');
    assert.deepEqual(
      keys,
      [...'11111-----99999-----'].map((x) => (x === '-' ? x : Number(x))),
    );
    for (const [i, k] of got.entries()) {
      assert.equal(k[1]! & 0x7f, 8, 'PCMA');
      if (i > 0) {
        assert.equal((k.readUInt16BE(2) - got[i - 1]!.readUInt16BE(2)) & 0xffff, 1);
        assert.equal((k.readUInt32BE(4) - got[i - 1]!.readUInt32BE(4)) >>> 0, 160);
      }
    }
    assert.equal((await collectUntilQuiet(c.b, 150)).length, 0, 'nothing after the sequence');
  } finally {
    c.close();
  }
});

test('play DTMF is refused when neither telephone-event nor an in-band codec is negotiated', async () => {
  const c = await mediaCall(p, { formats: '18', rtpmaps: ['18 G729/8000'] });
  try {
    const r = await playDtmfFromA(c.callId, { code: '1' });
    assert.equal(r.result, 'error');
    assert.match(String(r['error-reason']), /telephone-event.*G729/);
  } finally {
    c.close();
  }
});

test('detected digits are sent as JSON to --dtmf-log-dest', async () => {
  const c = await mediaCall(logged);
  try {
    const digits = '1#9';
    const seq = generateDtmf({ code: digits, durationMs: 60, pauseMs: 40 });
    let n = 5000;
    for (const k of seq.packets)
      c.a.send(rtp(101, n++, 90_000 + k.tsOffset, 0xd, Buffer.from(k.payload), k.marker), c.toProxyFromA);
    const msgs = [];
    for (let i = 0; i < digits.length; i++) msgs.push(JSON.parse((await sink.next(2000)).msg.toString()));
    assert.deepEqual(
      msgs.map((m) => m.digit),
      [...digits],
    );
    assert.deepEqual(
      msgs.map((m) => m.event),
      [1, 11, 9],
    );
    for (const m of msgs) {
      assert.equal(m.callid, c.callId);
      assert.equal(m.source_tag, 'tagA');
      assert.equal(m.type, 'DTMF');
      assert.equal(m.duration, 60);
      assert.equal(m.source_ip, '127.0.0.1');
      assert.ok(Math.abs(m.timestamp - Date.now() / 1000) < 10);
      assert.deepEqual(m.tags, ['tagA', 'tagB']);
    }
    // Retransmitted end packets are reported once.
    assert.equal(sink.pending(), 0);
  } finally {
    c.close();
  }
});

/** Audio (PT `audioPt`) seq 1-3, one event (5 packets + end x3) at ts 480, audio again: what A sends. */
function withEvent(audioPt: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < 3; i++) out.push(rtp(audioPt, 1 + i, 160 * i, 0xa));
  for (let i = 1; i <= 5; i++) out.push(rtp(101, 3 + i, 480, 0xa, ev(5, false, 160 * i)));
  for (let i = 0; i < 3; i++) out.push(rtp(101, 9 + i, 480, 0xa, ev(5, true, 960)));
  for (let i = 0; i < 3; i++) out.push(rtp(audioPt, 12 + i, 1440 + 160 * i, 0xa));
  return out;
}

async function securedCall(body: Record<string, string | number | number[]>, codec = PCMU) {
  const c = await mediaCall(p, codec);
  const r = await p.ng.request({ command: 'block DTMF', 'call-id': c.callId, ...body });
  assert.equal(r.result, 'ok', JSON.stringify(r));
  const sent = withEvent(codec === PCMU ? 0 : 8);
  for (const k of sent) c.a.send(k, c.toProxyFromA);
  return { c, sent };
}

test('keys pressed in-band by a party without telephone-event are detected and logged too', async () => {
  const c = await mediaCall(logged, { formats: '8', rtpmaps: ['8 PCMA/8000'] });
  try {
    // Key 6 for 100 ms, 60 ms of silence, key * for 60 ms, silence.
    const plan: (number | undefined)[] = [
      undefined,
      6,
      6,
      6,
      6,
      6,
      undefined,
      undefined,
      undefined,
      10,
      10,
      10,
    ];
    plan.push(undefined, undefined);
    for (const [i, key] of plan.entries()) {
      const pcm = key === undefined ? new Int16Array(160) : dtmfToneSamples(key, 160, 160 * i)!;
      c.a.send(rtp(8, 700 + i, 160 * i, 0xd, Buffer.from(g711Encode('PCMA', pcm))), c.toProxyFromA);
    }
    const msgs = [];
    for (let i = 0; i < 2; i++) msgs.push(JSON.parse((await sink.next(2000)).msg.toString()));
    assert.deepEqual(
      msgs.map((m) => [m.event, m.digit, m.duration, m.source_tag, m.callid]),
      [
        [6, '6', 100, 'tagA', c.callId],
        [10, '*', 60, 'tagA', c.callId],
      ],
    );
    assert.equal((await collect(c.b, plan.length)).length, plan.length, 'the audio itself passes');
  } finally {
    c.close();
  }
});

test('DTMF-security silence: event packets become silent audio of the call codec, same SSRC, seq and event time', async () => {
  for (const [codec, pt, fill] of [
    [PCMU, 0, 0xff],
    [PCMA, 8, 0xd5],
  ] as const) {
    const { c } = await securedCall({ 'DTMF-security': 'silence' }, codec);
    try {
      // 3 audio, 6 replacements (the end packet's two repeats add nothing), 3 audio.
      const got = await collect(c.b, 12);
      assert.deepEqual(
        got.map((k) => [k[1]! & 0x7f, k.readUInt16BE(2), k.readUInt32BE(4), k.readUInt32BE(8), k.length]),
        [
          ...[0, 1, 2].map((i) => [pt, 1 + i, 160 * i, 0xa, 172]),
          ...[0, 1, 2, 3, 4, 5].map((i) => [pt, 4 + i, 480 + 160 * i, 0xa, 172]),
          ...[0, 1, 2].map((i) => [pt, 12 + i, 1440 + 160 * i, 0xa, 172]),
        ],
      );
      for (const k of got.slice(3, 9)) assert.ok(k.subarray(12).every((b) => b === fill));
    } finally {
      c.close();
    }
  }
});

test('DTMF-security tone: the event is heard as the asked sine instead', async () => {
  // `frequency`, or `frequencies` as a list (a single sine: its first).
  const variants: Record<string, number | number[]>[] = [{ frequency: 1000 }, { frequencies: [1000, 2000] }];
  for (const f of variants) {
    const { c } = await securedCall({ 'DTMF-security': 'tone', ...f, volume: 10 });
    try {
      const got = await collect(c.b, 12);
      const pcm = Int16Array.from(
        Buffer.concat(got.slice(3, 9).map((k) => k.subarray(12))),
        ulawDecodeSample,
      );
      assert.ok(toneDominance(pcm, 1000, [400, 770, 1336, 2000], 8000) > 1000, JSON.stringify(f));
      assert.ok(
        toneDominance(pcm, 1000, [770, 1336], 8000) > 1000,
        'no trace of the pressed digit (5: 770 + 1336 Hz)',
      );
    } finally {
      c.close();
    }
  }
});

test('DTMF-security zero / DTMF / random: the far end gets a key press, not the pressed one', async () => {
  for (const [body, check] of [
    [{ 'DTMF-security': 'zero' }, (code: number) => code === 0],
    [{ 'DTMF-security': 'DTMF', digit: '#' }, (code: number) => code === 11],
    [{ 'DTMF-security': 'random' }, (code: number) => code !== 5 && code <= 11],
  ] as const) {
    const { c, sent } = await securedCall(body);
    try {
      const got = await collect(c.b, sent.length);
      const events = got.filter((k) => (k[1]! & 0x7f) === 101);
      assert.equal(events.length, 8, 'every event packet passes');
      assert.equal(new Set(events.map((k) => k[12])).size, 1, 'one code for the whole event');
      assert.ok(check(events[0]![12]!), `${JSON.stringify(body)}: code ${events[0]![12]}`);
      // Everything else about the packets is as sent.
      assert.deepEqual(
        events.map((k) => [k.readUInt16BE(2), k.readUInt32BE(4), k.subarray(13).toString('hex')]),
        sent
          .filter((k) => (k[1]! & 0x7f) === 101)
          .map((k) => [k.readUInt16BE(2), k.readUInt32BE(4), k.subarray(13).toString('hex')]),
      );
    } finally {
      c.close();
    }
  }
});

/** A PCMU call without telephone-event: A presses key 4 in-band for 6 frames between pauses; B's frames' keys. */
async function inbandThroughBlock(block: BDict | undefined): Promise<(number | '-')[]> {
  const c = await mediaCall(p, { formats: '0', rtpmaps: ['0 PCMU/8000'] });
  try {
    if (block) {
      const r = await p.ng.request({ command: 'block DTMF', 'call-id': c.callId, ...block });
      assert.equal(r.result, 'ok', JSON.stringify(r));
    }
    const quiet = () => Buffer.from(g711Encode('PCMU', new Int16Array(160)));
    const frames = [quiet(), ...Array.from({ length: 6 }, (_, i) => keyFrame(4, i)), quiet()];
    const keys: (number | '-')[] = [];
    for (const [i, f] of frames.entries()) {
      c.a.send(rtp(0, 300 + i, 160 * i, 0xa, f), c.toProxyFromA);
      const got = (await c.b.next()).msg;
      assert.equal(got.readUInt16BE(2), 300 + i, 'every frame passes, in order');
      keys.push(dtmfKeyIn(g711Decode('PCMU', got.subarray(12))) ?? '-');
    }
    return keys;
  } finally {
    c.close();
  }
}
const keyFrame = (key: number, i: number) =>
  Buffer.from(g711Encode('PCMU', dtmfToneSamples(key, 160, 160 * i)!));

test('block DTMF also masks keys pressed in-band, as DTMF-security says', async () => {
  assert.deepEqual(
    await inbandThroughBlock(undefined),
    ['-', 4, 4, 4, 4, 4, 4, '-'],
    'unblocked: the tones pass',
  );
  // The first frame passes (one frame is not a key yet); the rest carry what the mode makes of the key.
  assert.deepEqual(await inbandThroughBlock({}), ['-', 4, '-', '-', '-', '-', '-', '-'], 'drop: silence');
  assert.deepEqual(await inbandThroughBlock({ 'DTMF-security': 'DTMF', digit: '#' }), [
    '-',
    4,
    11,
    11,
    11,
    11,
    11,
    '-',
  ]);
  const random = await inbandThroughBlock({ 'DTMF-security': 'random' });
  assert.equal(new Set(random.slice(2, 7)).size, 1, 'one replacement key per press');
  assert.ok(random[2] !== 4 && random[2] !== '-', String(random));
});

test('DTMF-security off unblocks; an unknown mode or digit is an error and changes nothing', async () => {
  const c = await mediaCall(p);
  try {
    const bad = await p.ng.request({ command: 'block DTMF', 'call-id': c.callId, 'DTMF-security': 'loud' });
    assert.equal(bad.result, 'error');
    assert.match(String(bad['error-reason']), /Unknown DTMF-security mode 'loud'/);
    const badDigit = await p.ng.request({
      command: 'block DTMF',
      'call-id': c.callId,
      'DTMF-security': 'DTMF',
      digit: 'X',
    });
    assert.equal(badDigit.result, 'error');
    let q = await p.ng.request({ command: 'query', 'call-id': c.callId });
    assert.equal(q['media control'], undefined, 'nothing blocked by the failed requests');
    await p.ng.request({ command: 'block DTMF', 'call-id': c.callId });
    const off = await p.ng.request({ command: 'block DTMF', 'call-id': c.callId, 'DTMF-security': 'off' });
    assert.equal(off.result, 'ok');
    q = await p.ng.request({ command: 'query', 'call-id': c.callId });
    assert.equal(q['media control'], undefined);
  } finally {
    c.close();
  }
});
