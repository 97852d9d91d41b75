/**
 * SRTP against Sipwise rtpengine: plain caller A -> sipmedia (RTP/AVP to RTP/SAVP) -> rtpengine (RTP/SAVP to
 * RTP/AVP) -> plain callee B, and the chain the other way round. rtpengine decrypts what we encrypt and we
 * decrypt what it encrypts: with SDES, the keys each side put in its SDP; with DTLS (which we offer next to
 * SDES, as rtpengine does, and which rtpengine then prefers), the keys of a handshake in which rtpengine is
 * the client. A's and B's payloads arrive intact.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { BDict } from '../../src/wire/bencode.js';
import { Endpoint, rtcpRR, rtp, sdpPorts } from '../helpers/endpoint.js';
import { type RunningProxy, startProxy } from '../helpers/proxy.js';
import {
  MISSING_RTPENGINE,
  type MediaProxy,
  rtpengineInstalled,
  startRtpengine,
} from '../helpers/rtpengine.js';
import { collect } from '../proxy/media-helpers.js';

const skip = !rtpengineInstalled();
if (skip) console.log(MISSING_RTPENGINE);

let ours: RunningProxy;
let theirs: MediaProxy;
before(async () => {
  if (skip) return;
  ours = await startProxy(['--delete-delay=0']);
  theirs = await startRtpengine();
});
after(async () => {
  await ours?.stop();
  await theirs?.stop();
});

function plainSdp(port: number): string {
  return (
    `v=0\r\no=ep 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n` +
    `m=audio ${port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n`
  );
}

const bySeq = (ks: Buffer[]) => [...ks].sort((x, y) => x.readUInt16BE(2) - y.readUInt16BE(2));

async function signal(p: { ng: { request(b: BDict): Promise<BDict> } }, body: BDict): Promise<string> {
  const r = await p.ng.request(body);
  assert.equal(r.result, 'ok', JSON.stringify(r));
  return String(r.sdp);
}

/** A -> first -> second -> B, first converting AVP -> SAVP and second SAVP -> AVP; media both ways. */
/**
 * Sends probe packets from `from` every 30 ms (bounded) until one arrives at `to`, then drains what came. The
 * probes have an SSRC of their own: a sequence jump within one SSRC would move SRTP's rollover counter.
 */
async function untilFlowing(from: Endpoint, to: Endpoint, port: number, ssrc: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    from.send(rtp(0, 1 + i, 160 * i, ssrc ^ 0xffff, Buffer.alloc(160, 0x7f)), port);
    try {
      await to.next(30);
      break;
    } catch {}
  }
  while (true) {
    try {
      await to.next(100);
    } catch {
      return;
    }
  }
}

async function chain(
  first: { ng: MediaProxy['ng'] },
  second: { ng: MediaProxy['ng'] },
  port: number,
  tag: string,
  dtls = false,
) {
  const a = await Endpoint.open(port);
  const b = await Endpoint.open(port + 1);
  try {
    const callId = `srtp-chain-${tag}`;
    const o1 = await signal(first, {
      command: 'offer',
      'call-id': callId,
      'from-tag': 'A',
      sdp: plainSdp(port),
      'transport-protocol': 'RTP/SAVP',
      ...(dtls ? {} : { DTLS: 'off' }),
    });
    assert.match(o1, /m=audio \d+ RTP\/SAVP /);
    assert.match(o1, /a=crypto:\d+ AES_CM_128_HMAC_SHA1_80 inline:/);
    const o2 = await signal(second, {
      command: 'offer',
      'call-id': callId,
      'from-tag': 'A',
      sdp: o1,
      'transport-protocol': 'RTP/AVP',
    });
    assert.match(o2, /m=audio \d+ RTP\/AVP /);
    const a2 = await signal(second, {
      command: 'answer',
      'call-id': callId,
      'from-tag': 'A',
      'to-tag': 'B',
      sdp: plainSdp(port + 1),
    });
    assert.match(a2, /m=audio \d+ RTP\/SAVP /);
    if (dtls) {
      assert.match(a2, /^a=setup:active\r$/m, 'rtpengine takes DTLS, as the client');
      assert.match(a2, /^a=fingerprint:sha-256 /m);
    } else assert.match(a2, /a=crypto:\d+ AES_CM_128_HMAC_SHA1_(80|32) inline:/);
    const a1 = await signal(first, {
      command: 'answer',
      'call-id': callId,
      'from-tag': 'A',
      'to-tag': 'B',
      sdp: a2,
    });
    assert.match(a1, /m=audio \d+ RTP\/AVP /);
    assert.doesNotMatch(a1, /a=crypto/);
    const toFirst = sdpPorts(a1).rtp;
    const toSecond = sdpPorts(o2).rtp;
    if (dtls) {
      // Nothing passes until rtpengine's handshake with us is done.
      await untilFlowing(a, b, toFirst, 0xaaaa);
      await untilFlowing(b, a, toSecond, 0xbbbb);
    }
    const fromA = [0, 1, 2, 3, 4].map((i) => rtp(0, 10 + i, 160 * i, 0xaaaa, Buffer.alloc(160, 0x10 + i)));
    for (const k of fromA) a.send(k, toFirst);
    // rtpengine works with several threads: the packets may arrive in another order (receivers sort by seq).
    const atB = bySeq(await collect(b, 5));
    assert.deepEqual(
      atB.map((k) => k.subarray(12).toString('hex')),
      fromA.map((k) => k.subarray(12).toString('hex')),
      "A's audio reaches B intact through both proxies' SRTP",
    );
    const fromB = [0, 1, 2, 3, 4].map((i) => rtp(0, 700 + i, 160 * i, 0xbbbb, Buffer.alloc(160, 0x60 + i)));
    for (const k of fromB) b.send(k, toSecond);
    const atA = bySeq(await collect(a, 5));
    assert.deepEqual(
      atA.map((k) => k.subarray(12).toString('hex')),
      fromB.map((k) => k.subarray(12).toString('hex')),
      "B's audio reaches A intact",
    );
  } finally {
    a.close();
    b.close();
  }
}

test('sipmedia encrypts, rtpengine decrypts, and back', { skip }, async () => {
  await chain(ours, theirs, ours.spare[0]!, 'ours-first');
});

test('DTLS offered next to SDES: rtpengine takes it as the client, and media crosses both ways', {
  skip,
}, async () => {
  await chain(ours, theirs, ours.spare[8]!, 'ours-first-dtls', true);
});

test('rtpengine encrypts, sipmedia decrypts, and back', { skip }, async () => {
  await chain(theirs, ours, ours.spare[4]!, 'theirs-first');
});

/**
 * Without rtcp-mux rtpengine, as the DTLS client, runs a second handshake on the RTCP ports (RFC 5764 4.1)
 * and keys SRTCP with it: we complete that one too and key the RTCP leg with its keys, so RTCP crosses both
 * ways. A and B listen for RTCP on their RTP port + 1.
 */
test('DTLS without rtcp-mux: the RTCP component has its own handshake, and RTCP crosses both ways', {
  skip,
}, async () => {
  const port = ours.spare[12]!;
  const a = await Endpoint.open(port);
  const aRtcp = await Endpoint.open(port + 1);
  const b = await Endpoint.open(port + 2);
  const bRtcp = await Endpoint.open(port + 3);
  try {
    const id = { 'call-id': 'srtp-dtls-rtcp', 'from-tag': 'A' };
    const o1 = await signal(ours, {
      command: 'offer',
      ...id,
      sdp: plainSdp(port),
      'transport-protocol': 'RTP/SAVP',
    });
    assert.doesNotMatch(o1, /a=rtcp-mux/, 'no rtcp-mux offered to an SDES/DTLS endpoint');
    const o2 = await signal(theirs, { command: 'offer', ...id, sdp: o1, 'transport-protocol': 'RTP/AVP' });
    const a2 = await signal(theirs, { command: 'answer', ...id, 'to-tag': 'B', sdp: plainSdp(port + 2) });
    assert.match(a2, /^a=setup:active\r$/m, 'rtpengine takes DTLS, as the client');
    const a1 = await signal(ours, { command: 'answer', ...id, 'to-tag': 'B', sdp: a2 });
    const toUs = sdpPorts(a1);
    const toThem = sdpPorts(o2);
    await untilFlowing(a, b, toUs.rtp, 0xaaaa);
    await untilFlowing(b, a, toThem.rtp, 0xbbbb);
    // RTCP: rtpengine's SRTCP (keyed by its RTCP handshake) must decrypt here, ours there. Probes are sent
    // until one arrives (bounded): rtpengine's RTCP handshake may still be finishing.
    const rtcpThrough = async (from: Endpoint, to: Endpoint, port: number, ssrc: number) => {
      const rr = rtcpRR(ssrc);
      for (let i = 0; i < 60; i++) {
        from.send(rr, port);
        try {
          const got = (await to.next(50)).msg;
          return got;
        } catch {}
      }
      return undefined;
    };
    const atA = await rtcpThrough(bRtcp, aRtcp, toThem.rtcp ?? toThem.rtp + 1, 0xb0b0b0b0);
    assert.ok(atA, "B's RTCP reaches A: our RTCP leg decrypts rtpengine's SRTCP");
    assert.equal(atA.readUInt32BE(4), 0xb0b0b0b0);
    assert.equal(atA.length, 8, 'decrypted: the RR as B sent it');
    const atB = await rtcpThrough(aRtcp, bRtcp, toUs.rtcp ?? toUs.rtp + 1, 0xa0a0a0a0);
    assert.ok(atB, "A's RTCP reaches B: rtpengine decrypts our SRTCP");
    assert.equal(atB.readUInt32BE(4), 0xa0a0a0a0);
    const q = await ours.ng.request({ command: 'query', 'call-id': id['call-id'] });
    const dtls = (q.tags as Record<string, { medias: { DTLS?: { rtcp?: { state?: string } } }[] }>).B!
      .medias[0]!.DTLS;
    assert.equal(dtls?.rtcp?.state, 'connected', JSON.stringify(dtls));
    await ours.ng.request({ command: 'delete', 'call-id': id['call-id'] });
    await theirs.ng.request({ command: 'delete', 'call-id': id['call-id'] });
  } finally {
    for (const e of [a, aRtcp, b, bRtcp]) e.close();
  }
});
