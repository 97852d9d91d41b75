/**
 * The native relay addon through its TypeScript wrapper (NativeDataplane / NativeRelayLeg): forwarding,
 * learning modes, strict source, RTCP demultiplexing, counters, bad packets, taps, closing and many legs.
 */
import assert from 'node:assert/strict';
import { SrtpContext, sessionMaterial, tagBytes } from '../../src/media/srtp.js';
import { createSocket } from 'node:dgram';
import { after, before, test } from 'node:test';
import { loadError, loadNativeRelay } from '../../src/dataplane/native/addon.js';
import { NativeDataplane } from '../../src/dataplane/native/native-dataplane.js';
import { g711Encode } from '../../src/media/g711.js';
import { payloadConverter } from '../../src/media/narrowband-convert.js';
import type { RelayLeg } from '../../src/dataplane/relay-leg.js';
import type { LegPair } from '../../src/dataplane/userspace.js';
import { Endpoint, rtcpRR, rtp } from '../helpers/endpoint.js';
import { referenceTone } from '../helpers/tone.js';
import { reservePortBlock } from '../helpers/ports.js';

const addon = loadNativeRelay();
const skip = addon ? false : `MISSING PEER: native relay addon not built (${loadError})`;
if (skip) console.log(skip);

const base = reservePortBlock();
const MEDIA_MIN = base;
const MEDIA_MAX = base + 199;
/** The test's own endpoints, from a second block (the many-legs test needs 100). */
let spare = reservePortBlock();
let dp: NativeDataplane;

before(() => {
  if (addon) dp = new NativeDataplane(addon, MEDIA_MIN, MEDIA_MAX, { threads: 2 });
});
after(() => dp?.close());

interface Call {
  pa: LegPair;
  pb: LegPair;
  a: Endpoint;
  aRtcp: Endpoint;
  b: Endpoint;
  bRtcp: Endpoint;
  close(): void;
}

/** Two parties wired like the engine does: A's legs forward through B's and back. */
async function call(opts: { learning?: RelayLeg['learning']; strict?: boolean; mux?: boolean } = {}) {
  const pa = await dp.openPair('127.0.0.1');
  const pb = await dp.openPair('127.0.0.1');
  const a = await Endpoint.open(spare++);
  const aRtcp = await Endpoint.open(spare++);
  const b = await Endpoint.open(spare++);
  const bRtcp = await Endpoint.open(spare++);
  for (const [pair, ep, epRtcp] of [
    [pa, a, aRtcp],
    [pb, b, bRtcp],
  ] as const) {
    for (const [leg, e] of [
      [pair.rtp, ep],
      [pair.rtcp, epRtcp],
    ] as const) {
      leg.endpoint = { address: '127.0.0.1', port: e.port };
      leg.advertised = leg.endpoint;
      leg.confirmed = false;
      leg.learning = opts.learning ?? 'latch';
      leg.strict = opts.strict ?? false;
    }
  }
  pa.rtp.sink = pb.rtp;
  pb.rtp.sink = pa.rtp;
  const rtcpA = opts.mux ? pa.rtp : pa.rtcp;
  const rtcpB = opts.mux ? pb.rtp : pb.rtcp;
  pa.rtp.rtcpSink = rtcpB;
  pa.rtcp.sink = rtcpB;
  pb.rtp.rtcpSink = rtcpA;
  pb.rtcp.sink = rtcpA;
  const c: Call = {
    pa,
    pb,
    a,
    aRtcp,
    b,
    bRtcp,
    close() {
      for (const e of [a, aRtcp, b, bRtcp]) e.close();
      dp.closePair(pa);
      dp.closePair(pb);
    },
  };
  return c;
}

/** Polls a condition the main thread learns about asynchronously (bounded). */
async function until(f: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (f()) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  assert.fail(`timed out waiting for ${what}`);
}

test('RTP and RTCP are forwarded both ways, symmetric, payload intact, and counted', { skip }, async () => {
  const c = await call();
  try {
    const payload = Buffer.from('native relay '.repeat(10));
    for (let i = 0; i < 5; i++) c.a.send(rtp(0, 100 + i, 160 * i, 0xa, payload), c.pa.rtp.localPort);
    for (let i = 0; i < 5; i++) {
      const r = await c.b.next();
      assert.deepEqual(r.msg, rtp(0, 100 + i, 160 * i, 0xa, payload));
      assert.equal(r.from.port, c.pb.rtp.localPort, 'B hears from the port it sends to');
    }
    c.b.send(rtp(0, 7, 1, 0xb), c.pb.rtp.localPort);
    assert.deepEqual((await c.a.next()).msg, rtp(0, 7, 1, 0xb));
    c.aRtcp.send(rtcpRR(0xa), c.pa.rtcp.localPort);
    const rr = await c.bRtcp.next();
    assert.deepEqual(rr.msg, rtcpRR(0xa));
    assert.equal(rr.from.port, c.pb.rtcp.localPort);
    assert.equal(c.pa.rtp.rtp.packets, 5);
    assert.equal(c.pa.rtp.rtp.bytes, 5 * (12 + payload.length));
    assert.equal(c.pb.rtp.rtp.packets, 1);
    assert.equal(c.pa.rtcp.rtcp.packets, 1);
    assert.equal(c.pa.rtcp.rtcp.bytes, 8);
    assert.equal(c.pa.rtp.dropped, 0);
    assert.ok(Date.now() - c.pa.rtp.lastPacket < 5000 && c.pa.rtp.lastPacket > 0);
    assert.ok(c.pa.rtp.confirmed);
  } finally {
    c.close();
  }
});

test('rtcp-mux: RTCP arriving on an RTP leg goes to the RTCP sink and is counted as RTCP', {
  skip,
}, async () => {
  const c = await call({ mux: true });
  try {
    c.a.send(rtcpRR(0xa), c.pa.rtp.localPort);
    c.a.send(rtp(0, 1, 1, 0xa), c.pa.rtp.localPort);
    assert.deepEqual((await c.b.next()).msg, rtcpRR(0xa), 'muxed: to B RTP port');
    assert.deepEqual((await c.b.next()).msg, rtp(0, 1, 1, 0xa));
    assert.equal(c.pa.rtp.rtcp.packets, 1);
    assert.equal(c.pa.rtp.rtp.packets, 1);
  } finally {
    c.close();
  }
});

test('latch: the endpoint is learned from the first packet and reported once', { skip }, async () => {
  const c = await call();
  const real = await Endpoint.open(spare++);
  try {
    const seen: RelayLeg[] = [];
    c.pa.rtp.onChange = (leg) => seen.push(leg);
    real.send(rtp(0, 1, 1, 0xa), c.pa.rtp.localPort);
    await c.b.next();
    c.b.send(rtp(0, 2, 2, 0xb), c.pb.rtp.localPort);
    assert.equal((await real.next()).msg.readUInt16BE(2), 2, 'reply goes to the learned source');
    assert.deepEqual(c.pa.rtp.endpoint, { address: '127.0.0.1', port: real.port });
    assert.ok(c.pa.rtp.confirmed);
    // latch: a second source does not move the endpoint
    c.a.send(rtp(0, 3, 3, 0xa), c.pa.rtp.localPort);
    await c.b.next();
    assert.deepEqual(c.pa.rtp.endpoint, { address: '127.0.0.1', port: real.port });
    await until(() => seen.length === 1, 'the endpoint event');
    assert.equal(seen[0], c.pa.rtp);
  } finally {
    real.close();
    c.close();
  }
});

test('learning off: replies go to the SDP address', { skip }, async () => {
  const c = await call({ learning: 'off' });
  const real = await Endpoint.open(spare++);
  try {
    real.send(rtp(0, 1, 1, 0xa), c.pa.rtp.localPort);
    await c.b.next();
    c.b.send(rtp(0, 2, 2, 0xb), c.pb.rtp.localPort);
    assert.equal((await c.a.next()).msg.readUInt16BE(2), 2);
    assert.equal(real.pending(), 0);
    assert.equal(c.pa.rtp.confirmed, false);
  } finally {
    real.close();
    c.close();
  }
});

test('handover: the endpoint follows the latest source', { skip }, async () => {
  const c = await call({ learning: 'handover' });
  const moved = await Endpoint.open(spare++);
  try {
    let events = 0;
    c.pa.rtp.onChange = () => events++;
    c.a.send(rtp(0, 1, 1, 0xa), c.pa.rtp.localPort);
    await c.b.next();
    moved.send(rtp(0, 2, 2, 0xa), c.pa.rtp.localPort);
    await c.b.next();
    c.b.send(rtp(0, 3, 3, 0xb), c.pb.rtp.localPort);
    assert.equal((await moved.next()).msg.readUInt16BE(2), 3);
    assert.deepEqual(c.pa.rtp.endpoint, { address: '127.0.0.1', port: moved.port });
    await until(() => events >= 1, 'endpoint events');
  } finally {
    moved.close();
    c.close();
  }
});

test('strict source: packets from anyone else are dropped and counted', { skip }, async () => {
  const c = await call({ strict: true });
  const intruder = await Endpoint.open(spare++);
  try {
    c.a.send(rtp(0, 1, 1, 0xa), c.pa.rtp.localPort);
    assert.equal((await c.b.next()).msg.readUInt16BE(2), 1);
    intruder.send(rtp(0, 66, 1, 0xe), c.pa.rtp.localPort);
    // Ordering proves absence: the intruder's packet is queued first on the same socket.
    c.a.send(rtp(0, 2, 2, 0xa), c.pa.rtp.localPort);
    assert.equal((await c.b.next()).msg.readUInt16BE(2), 2);
    assert.equal(c.pa.rtp.dropped, 1);
    assert.equal(c.pa.rtp.rtp.packets, 2);
  } finally {
    intruder.close();
    c.close();
  }
});

test('blocked legs count and drop; malformed packets are counted as errors', { skip }, async () => {
  const c = await call();
  try {
    c.a.send(Buffer.from([1, 2]), c.pa.rtp.localPort); // too short, wrong version
    c.a.send(Buffer.from('not rtp at all'), c.pa.rtp.localPort);
    c.a.send(rtp(0, 1, 1, 0xa), c.pa.rtp.localPort);
    assert.equal((await c.b.next()).msg.readUInt16BE(2), 1, 'the good packet after the bad ones');
    assert.equal(c.pa.rtp.rtp.errors, 2);
    assert.equal(c.pa.rtp.dropped, 2);
    c.pa.rtp.blocked = true;
    c.a.send(rtp(0, 2, 2, 0xa), c.pa.rtp.localPort);
    c.pa.rtcp.sink = c.pb.rtcp;
    c.aRtcp.send(rtcpRR(1), c.pa.rtcp.localPort);
    await c.bRtcp.next();
    await until(() => c.pa.rtp.dropped === 3, 'the blocked packet to be counted');
    c.pa.rtp.blocked = false;
    c.a.send(rtp(0, 3, 3, 0xa), c.pa.rtp.localPort);
    assert.equal((await c.b.next()).msg.readUInt16BE(2), 3, 'blocked packet never arrived');
  } finally {
    c.close();
  }
});

test('taps see every packet in JavaScript, may rewrite or drop it; sendToParty injects', {
  skip,
}, async () => {
  const c = await call();
  try {
    const seen: number[] = [];
    c.pa.rtp.taps = [
      (msg, leg, isRtcp) => {
        assert.equal(leg, c.pa.rtp);
        assert.equal(isRtcp, false);
        const seq = msg.readUInt16BE(2);
        seen.push(seq);
        msg[12] = 0x42;
        return seq !== 2;
      },
    ];
    for (let i = 1; i <= 3; i++) c.a.send(rtp(0, i, i, 0xa), c.pa.rtp.localPort);
    const r1 = await c.b.next();
    const r3 = await c.b.next();
    assert.deepEqual([r1.msg.readUInt16BE(2), r3.msg.readUInt16BE(2)], [1, 3]);
    assert.equal(r1.msg[12], 0x42, 'the tap rewrote the payload');
    assert.deepEqual(seen, [1, 2, 3]);
    assert.equal(c.pa.rtp.dropped, 1);
    assert.equal(c.pa.rtp.rtp.packets, 3);
    c.pa.rtp.taps = [];
    c.a.send(rtp(0, 4, 4, 0xa), c.pa.rtp.localPort);
    assert.equal((await c.b.next()).msg[12], 0xd5, 'untapped again: straight through');
    assert.ok(c.pb.rtp.sendToParty(rtp(8, 9, 9, 0xc)));
    const inj = await c.b.next();
    assert.equal(inj.msg.readUInt16BE(2), 9);
    assert.equal(inj.from.port, c.pb.rtp.localPort);
  } finally {
    c.close();
  }
});

test('the worker converts payloads itself: only the named payload type, CSRCs/extension/padding kept, events mapped', {
  skip,
}, async () => {
  const c = await call();
  try {
    const table = Uint8Array.from({ length: 256 }, (_, i) => 255 - i);
    assert.equal(c.pa.rtp.convert?.({ fromPt: 0, toPt: 8, table, g722: undefined, events: [101, 96] }), true);
    assert.equal(c.pa.rtp.converting, true);
    assert.equal(c.pa.rtp.taps.length, 0, 'no tap: no JavaScript per packet');
    const pay = Buffer.from([0, 1, 2, 254, 255]);
    c.a.send(rtp(0, 1, 0, 0xa, pay, true), c.pa.rtp.localPort);
    const r = (await c.b.next()).msg;
    assert.deepEqual(r, rtp(8, 1, 0, 0xa, Buffer.from([255, 254, 253, 1, 0]), true), 'PT 8, marker kept');
    // V=2 P X CC=1: CSRC, a one-word extension and two bytes of padding stay as sent.
    const head = Buffer.from([
      0xb1, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0xa, 1, 2, 3, 4, 0xbe, 0xde, 0, 1, 9, 9, 9, 9,
    ]);
    c.a.send(Buffer.concat([head, Buffer.from([0, 7, 0, 2])]), c.pa.rtp.localPort);
    const x = (await c.b.next()).msg;
    assert.deepEqual(
      x,
      Buffer.concat([Buffer.from([0xb1, 8]), head.subarray(2), Buffer.from([255, 248, 0, 2])]),
    );
    c.a.send(rtp(101, 3, 0, 0xa, Buffer.from([1, 0, 0, 160])), c.pa.rtp.localPort);
    assert.deepEqual(
      (await c.b.next()).msg,
      rtp(96, 3, 0, 0xa, Buffer.from([1, 0, 0, 160])),
      'event PT mapped',
    );
    c.a.send(rtp(9, 4, 0, 0xa, pay), c.pa.rtp.localPort);
    assert.deepEqual((await c.b.next()).msg, rtp(9, 4, 0, 0xa, pay), 'another payload type passes');
    c.b.send(rtp(0, 5, 0, 0xb, pay), c.pb.rtp.localPort);
    assert.deepEqual((await c.a.next()).msg, rtp(0, 5, 0, 0xb, pay), 'the other direction is not converted');
    c.aRtcp.send(rtcpRR(0xa), c.pa.rtcp.localPort);
    assert.deepEqual((await c.bRtcp.next()).msg, rtcpRR(0xa));
    assert.equal(c.pa.rtp.convert?.(undefined), true);
    assert.equal(c.pa.rtp.converting, false);
    c.a.send(rtp(0, 6, 0, 0xa, pay), c.pa.rtp.localPort);
    assert.deepEqual((await c.b.next()).msg, rtp(0, 6, 0, 0xa, pay), 'off again');
  } finally {
    c.close();
  }
});

test('G.722 in the worker: the same bytes as the JavaScript converter, both ways, across packets', {
  skip,
}, async () => {
  const c = await call();
  try {
    const tone = referenceTone(1600);
    const pcma = Array.from({ length: 10 }, (_, k) =>
      Buffer.from(g711Encode('PCMA', tone.subarray(160 * k, 160 * k + 160))),
    );
    // A sends PCMA, B gets G.722 encoded by the worker; B sends that G.722 back, A gets PCMA decoded by it.
    const encode = { encode: true, law: 'PCMA' } as const;
    const decode = { encode: false, law: 'PCMA' } as const;
    const none = { table: undefined, events: undefined };
    assert.equal(c.pa.rtp.convert?.({ fromPt: 8, toPt: 9, g722: encode, ...none }), true);
    assert.equal(c.pb.rtp.convert?.({ fromPt: 9, toPt: 8, g722: decode, ...none }), true);
    const js = payloadConverter('PCMA', 'G722')!;
    const jsBack = payloadConverter('G722', 'PCMA')!;
    for (const [k, pay] of pcma.entries()) {
      c.a.send(rtp(8, k, 160 * k, 0xa, pay), c.pa.rtp.localPort);
      const g = (await c.b.next()).msg;
      assert.equal(g[1], 9);
      const want = Buffer.from(pay);
      js.convert(want);
      assert.deepEqual(g.subarray(12), want, `packet ${k}: G.722 as the JavaScript encoder makes it`);
      c.b.send(rtp(9, k, 160 * k, 0xb, Buffer.from(g.subarray(12))), c.pb.rtp.localPort);
      const back = (await c.a.next()).msg;
      assert.equal(back[1], 8);
      const wantBack = Buffer.from(g.subarray(12));
      jsBack.convert(wantBack);
      assert.deepEqual(back.subarray(12), wantBack, `packet ${k}: PCMA as the JavaScript decoder makes it`);
    }
  } finally {
    c.close();
  }
});

test('SRTP in the worker: the same bytes as the JavaScript SRTP, both ways, RTP and RTCP, forged packets counted', {
  skip,
}, async () => {
  const c = await call();
  try {
    const theirs = Buffer.alloc(30, 0x21).toString('base64');
    const ours = Buffer.alloc(30, 0x12).toString('base64');
    const suite = 'AES_CM_128_HMAC_SHA1_80' as const;
    // B is the SRTP party: its legs decrypt what B sends (B's key) and encrypt what goes to B (ours).
    for (const leg of [c.pb.rtp, c.pb.rtcp])
      assert.equal(leg.setSrtp?.(sessionMaterial(theirs), sessionMaterial(ours), tagBytes(suite)), true);
    assert.equal(c.pa.rtp.taps.length + c.pb.rtp.taps.length, 0, 'no tap: no JavaScript per packet');
    const toB = SrtpContext.fromInline(suite, ours); // what B would decrypt with
    const fromB = SrtpContext.fromInline(suite, theirs); // what B would encrypt with
    const ref = SrtpContext.fromInline(suite, ours); // the JavaScript implementation, for the bytes
    for (let i = 0; i < 3; i++) {
      const p = rtp(0, 65_534 + i, 160 * i, 0xa, Buffer.alloc(40, i + 1));
      c.a.send(p, c.pa.rtp.localPort);
      const wire = (await c.b.next()).msg;
      assert.deepEqual(
        wire,
        ref.protectRtp(p),
        `packet ${i}: byte for byte the JavaScript SRTP (ROC across the wrap)`,
      );
      assert.deepEqual(toB.unprotectRtp(wire), p);
    }
    const q = rtp(8, 77, 0, 0xb, Buffer.alloc(40, 0x44));
    c.b.send(fromB.protectRtp(q)!, c.pb.rtp.localPort);
    assert.deepEqual((await c.a.next()).msg, q, 'decrypted towards A');
    const forged = Buffer.from(fromB.protectRtp(rtp(8, 78, 0, 0xb, Buffer.alloc(40, 1)))!);
    forged[13]! ^= 1;
    c.b.send(forged, c.pb.rtp.localPort);
    c.b.send(fromB.protectRtp(rtp(8, 79, 0, 0xb, Buffer.alloc(40, 2)))!, c.pb.rtp.localPort);
    assert.equal((await c.a.next()).msg.readUInt16BE(2), 79, 'the forged packet never arrives');
    await until(() => c.pb.rtp.rtp.errors === 1, 'the forged packet counted as an error');
    c.aRtcp.send(rtcpRR(0xa), c.pa.rtcp.localPort);
    assert.deepEqual(toB.unprotectRtcp((await c.bRtcp.next()).msg), rtcpRR(0xa));
    c.bRtcp.send(fromB.protectRtcp(rtcpRR(0xb))!, c.pb.rtcp.localPort);
    assert.deepEqual((await c.aRtcp.next()).msg, rtcpRR(0xb));
    // Generated packets to B (sendToParty) are encrypted too.
    const gen = rtp(0, 5000, 0, 0xc, Buffer.alloc(20, 3));
    assert.equal(c.pb.rtp.sendToParty(gen), true);
    assert.deepEqual(toB.unprotectRtp((await c.b.next()).msg), gen);
    for (const leg of [c.pb.rtp, c.pb.rtcp]) assert.equal(leg.setSrtp?.(null, null, 0), true);
    c.a.send(rtp(0, 9, 0, 0xa, Buffer.alloc(10, 9)), c.pa.rtp.localPort);
    assert.deepEqual(
      (await c.b.next()).msg,
      rtp(0, 9, 0, 0xa, Buffer.alloc(10, 9)),
      'plain again once taken off',
    );
  } finally {
    c.close();
  }
});

test('counters assigned from JavaScript (kernel offload) add to the worker counts', { skip }, async () => {
  const c = await call();
  try {
    c.a.send(rtp(0, 1, 1, 0xa), c.pa.rtp.localPort);
    await c.b.next();
    c.pa.rtp.rtp.packets += 10;
    c.pa.rtp.lastPacket = 1;
    c.a.send(rtp(0, 2, 2, 0xa), c.pa.rtp.localPort);
    await c.b.next();
    assert.equal(c.pa.rtp.rtp.packets, 12);
    assert.ok(c.pa.rtp.lastPacket > 1);
  } finally {
    c.close();
  }
});

test('closing frees the ports at once and keeps the final counts', { skip }, async () => {
  const c = await call();
  const port = c.pa.rtp.localPort;
  c.a.send(rtp(0, 1, 1, 0xa), port);
  await c.b.next();
  c.close();
  assert.equal(c.pa.rtp.closed, true);
  assert.equal(c.pa.rtp.rtp.packets, 1, 'counts survive the slot being reused');
  assert.deepEqual(c.pa.rtp.endpoint, { address: '127.0.0.1', port: c.a.port });
  for (const p of [port, port + 1]) {
    const s = createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.bind({ port: p, address: '127.0.0.1', exclusive: true }, () => resolve());
    });
    s.close();
  }
  assert.equal(c.pa.rtp.sendToParty(rtp(0, 1, 1, 1)), false);
});

test('many legs: 25 calls at once each forward their own stream', { skip }, async () => {
  const calls = [];
  for (let i = 0; i < 25; i++) calls.push(await call());
  try {
    for (const [i, c] of calls.entries()) c.a.send(rtp(0, i, i, i), c.pa.rtp.localPort);
    for (const [i, c] of calls.entries()) assert.equal((await c.b.next()).msg.readUInt16BE(2), i);
    assert.equal(dp.openPairs, 50);
  } finally {
    for (const c of calls) c.close();
  }
  assert.equal(dp.openPairs, 0);
});

/** Binds and closes a socket on the port: throws when the port is still held. */
async function portFree(port: number): Promise<void> {
  const s = createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.bind({ port, address: '127.0.0.1', exclusive: true }, () => resolve());
  });
  s.close();
}

test('spare pairs: opened ahead after a request, handed out next, a touched one never, closed with the relay', {
  skip,
}, async () => {
  const block = reservePortBlock();
  const sdp = new NativeDataplane(addon!, block, block + 199, { threads: 1, spares: 2 });
  const sender = await Endpoint.open(spare++);
  try {
    const first = await sdp.openPair('127.0.0.1');
    assert.equal(sdp.sparePairs('127.0.0.1').length, 0, 'the first pair is bound on the request path');
    await new Promise((r) => setImmediate(r));
    const ready = sdp.sparePairs('127.0.0.1');
    assert.equal(ready.length, 2, 'two spare pairs after the request');
    assert.equal(sdp.openPairs, 1, 'spares are not counted as pairs in use');

    // A spare that received a stray packet is closed, not handed to a call.
    const [clean, touched] = ready as [LegPair, LegPair];
    sender.send(rtp(0, 1, 1, 1), touched.rtp.localPort);
    const until = Date.now() + 2000;
    while (touched.rtp.rtp.packets === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 5));
    assert.equal(touched.rtp.rtp.packets, 1);
    const next = await sdp.openPair('127.0.0.1');
    assert.equal(next, clean, 'the untouched spare is handed out');
    assert.equal(touched.rtp.closed, true, 'the touched spare is closed');
    await portFree(touched.rtp.localPort);

    await new Promise((r) => setImmediate(r));
    const refilled = sdp.sparePairs('127.0.0.1');
    assert.equal(refilled.length, 2, 'refilled after the request');
    assert.equal(sdp.openPairs, 2);
    sdp.closePair(first);
    sdp.closePair(next);
    assert.equal(sdp.openPairs, 0);
    sdp.close();
    for (const p of refilled) {
      await portFree(p.rtp.localPort);
      await portFree(p.rtcp.localPort);
    }
  } finally {
    sender.close();
    sdp.close();
  }
});

test('spare pairs are off by default for small port ranges (every pair stays free for calls)', {
  skip,
}, async () => {
  await dp.openPair('127.0.0.1').then((p) => dp.closePair(p));
  await new Promise((r) => setImmediate(r));
  assert.equal(dp.sparePairs('127.0.0.1').length, 0);
});
