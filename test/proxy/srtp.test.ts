/**
 * SDES-SRTP terminated by the proxy (`transport-protocol`): RTP/AVP on one side, RTP/SAVP on the other, keys
 * in `a=crypto`, packets encrypted and authenticated both ways (RTP and RTCP), on both dataplanes. The test
 * plays the SRTP party with the same SRTP code the proxy uses, whose correctness rests on RFC 3711's test
 * vectors (test/media/srtp) and on rtpengine decrypting what we send (test/e2e/srtp-rtpengine).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { SrtpContext, type SrtpSuite } from '../../src/media/srtp.js';
import type { BDict } from '../../src/wire/bencode.js';
import { Endpoint, rtcpRR, rtp, sdpPorts } from '../helpers/endpoint.js';
import { type RunningProxy, startProxy } from '../helpers/proxy.js';
import { collect, toneWav } from './media-helpers.js';

const KEY_B = Buffer.alloc(30, 0x42).toString('base64');
const KEY_A = Buffer.alloc(30, 0x41).toString('base64');

function sdp(port: number, proto: string, crypto: string[] = []): string {
  return (
    `v=0\r\no=ep 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n` +
    `m=audio ${port} ${proto} 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n` +
    `${crypto.map((c) => `a=crypto:${c}\r\n`).join('')}a=sendrecv\r\n`
  );
}

/** The `a=crypto` lines of an SDP: tag, suite, key. */
function cryptoOf(text: string): { tag: number; suite: SrtpSuite; inline: string }[] {
  return [...text.matchAll(/^a=crypto:(\d+) (\S+) inline:(\S+)\r?$/gm)].map((r) => ({
    tag: Number(r[1]),
    suite: r[2] as SrtpSuite,
    inline: r[3]!,
  }));
}

const mline = (text: string) => /^m=audio \d+ (\S+)/m.exec(text)?.[1];

let n = 0;

for (const dataplane of ['native', 'js']) {
  describe(`SDES-SRTP bridging (${dataplane} dataplane)`, () => {
    let p: RunningProxy;
    before(async () => {
      p = await startProxy([`--dataplane=${dataplane}`, '--delete-delay=0']);
    });
    after(async () => {
      await p.stop();
    });

    /** A call: offer from A in `protoA` with `offer` options, answer from B in `protoB`. */
    async function call(
      protoA: string,
      protoB: string,
      offerOpts: BDict,
      cryptoA: string[],
      cryptoB: string[],
    ) {
      const base = p.spare[(n++ * 4) % 60]!;
      const a = await Endpoint.open(base);
      const aRtcp = await Endpoint.open(base + 1);
      const b = await Endpoint.open(base + 2);
      const bRtcp = await Endpoint.open(base + 3);
      const callId = `srtp-${dataplane}-${n}`;
      const offer = await p.ng.request({
        command: 'offer',
        'call-id': callId,
        'from-tag': 'tagA',
        sdp: sdp(base, protoA, cryptoA),
        ...offerOpts,
      });
      assert.equal(offer.result, 'ok', JSON.stringify(offer));
      const answer = await p.ng.request({
        command: 'answer',
        'call-id': callId,
        'from-tag': 'tagA',
        'to-tag': 'tagB',
        sdp: sdp(base + 2, protoB, cryptoB),
      });
      assert.equal(answer.result, 'ok', JSON.stringify(answer));
      assert.equal(answer.warning, undefined);
      const toB = sdpPorts(String(offer.sdp));
      const toA = sdpPorts(String(answer.sdp));
      const close = () => {
        for (const e of [a, aRtcp, b, bRtcp]) e.close();
      };
      return {
        callId,
        a,
        aRtcp,
        b,
        bRtcp,
        offer: String(offer.sdp),
        answer: String(answer.sdp),
        toA,
        toB,
        close,
      };
    }

    test('RTP/AVP caller, RTP/SAVP callee: our keys offered, both directions encrypted and decrypted, RTCP too', async () => {
      const c = await call(
        'RTP/AVP',
        'RTP/SAVP',
        { 'transport-protocol': 'RTP/SAVP' },
        [],
        [`1 AES_CM_128_HMAC_SHA1_80 inline:${KEY_B}`],
      );
      try {
        assert.equal(mline(c.offer), 'RTP/SAVP');
        const offered = cryptoOf(c.offer);
        assert.deepEqual(
          offered.map((x) => [x.tag, x.suite]),
          [
            [1, 'AES_CM_128_HMAC_SHA1_80'],
            [2, 'AES_CM_128_HMAC_SHA1_32'],
          ],
        );
        assert.equal(mline(c.answer), 'RTP/AVP');
        assert.deepEqual(cryptoOf(c.answer), [], "the callee's key stays with us");
        const ours = SrtpContext.fromInline('AES_CM_128_HMAC_SHA1_80', offered[0]!.inline);
        const bTx = SrtpContext.fromInline('AES_CM_128_HMAC_SHA1_80', KEY_B);
        // A -> B: plain in, SRTP out.
        const fromA = [0, 1, 2].map((i) => rtp(0, 100 + i, 160 * i, 0xa, Buffer.alloc(160, i + 1)));
        for (const k of fromA) c.a.send(k, c.toA.rtp);
        const got = await collect(c.b, 3);
        assert.deepEqual(
          got.map((k) => ours.unprotectRtp(k)),
          fromA,
        );
        // B -> A: SRTP in, plain out; a forged packet is dropped.
        const fromB = [0, 1, 2].map((i) => rtp(0, 500 + i, 160 * i, 0xb, Buffer.alloc(160, 0x70 + i)));
        const forged = Buffer.from(bTx.protectRtp(rtp(0, 499, 0, 0xb, Buffer.alloc(160, 9)))!);
        forged[20]! ^= 0xff;
        c.b.send(forged, c.toB.rtp);
        for (const k of fromB) c.b.send(bTx.protectRtp(k)!, c.toB.rtp);
        assert.deepEqual(await collect(c.a, 3), fromB, 'exactly the three authentic packets, decrypted');
        // RTCP both ways on the RTCP ports.
        c.aRtcp.send(rtcpRR(0xa), c.toA.rtcp!);
        assert.deepEqual(ours.unprotectRtcp((await c.bRtcp.next()).msg), rtcpRR(0xa));
        const srtcp = bTx.protectRtcp(rtcpRR(0xb))!;
        c.bRtcp.send(srtcp, c.toB.rtcp!);
        assert.deepEqual((await c.aRtcp.next()).msg, rtcpRR(0xb));
        // The same SRTCP packet again is a replay: dropped (the next one A gets is the fresh one after it).
        c.bRtcp.send(srtcp, c.toB.rtcp!);
        c.bRtcp.send(bTx.protectRtcp(rtcpRR(0xc))!, c.toB.rtcp!);
        assert.deepEqual((await c.aRtcp.next()).msg, rtcpRR(0xc));
        const q = await p.ng.request({ command: 'query', 'call-id': c.callId });
        const streams = ((q.tags as Record<string, BDict>).tagB!.medias as BDict[])[0]!.streams as BDict[];
        assert.equal((streams[0]!.stats as BDict).errors, 1, 'the forged packet is counted as an error');
        assert.equal((streams[1]!.stats as BDict).errors, 1, 'and the replayed SRTCP packet');
      } finally {
        c.close();
      }
    });

    test('RTP/SAVP caller, RTP/AVP callee: the caller gets our key for its tag and suite; played media is encrypted', async () => {
      const c = await call(
        'RTP/SAVP',
        'RTP/AVP',
        { 'transport-protocol': 'RTP/AVP' },
        [`7 AES_CM_128_HMAC_SHA1_32 inline:${KEY_A}`],
        [],
      );
      try {
        assert.equal(mline(c.offer), 'RTP/AVP');
        assert.deepEqual(cryptoOf(c.offer), []);
        assert.equal(mline(c.answer), 'RTP/SAVP');
        const answered = cryptoOf(c.answer);
        assert.deepEqual(
          answered.map((x) => [x.tag, x.suite]),
          [[7, 'AES_CM_128_HMAC_SHA1_32']],
        );
        assert.notEqual(answered[0]!.inline, KEY_A, 'a key of ours, not an echo');
        const ours = SrtpContext.fromInline('AES_CM_128_HMAC_SHA1_32', answered[0]!.inline);
        const aTx = SrtpContext.fromInline('AES_CM_128_HMAC_SHA1_32', KEY_A);
        const fromA = [0, 1].map((i) => rtp(0, 10 + i, 160 * i, 0xa, Buffer.alloc(160, 0x30 + i)));
        for (const k of fromA) c.a.send(aTx.protectRtp(k)!, c.toA.rtp);
        assert.deepEqual(await collect(c.b, 2), fromA);
        const fromB = rtp(0, 900, 0, 0xb, Buffer.alloc(160, 0x55));
        c.b.send(fromB, c.toB.rtp);
        assert.deepEqual(ours.unprotectRtp((await c.a.next()).msg), fromB);
        // Playback towards A (inserted into B's stream) goes out encrypted too.
        const r = await p.ng.request({
          command: 'play media',
          'call-id': c.callId,
          'from-tag': 'tagB',
          blob64: toneWav(1000, 8000, 1, 0.1).toString('base64'),
        });
        assert.equal(r.result, 'ok', JSON.stringify(r));
        const played = await collect(c.a, 5);
        for (const k of played) assert.ok(ours.unprotectRtp(k), 'played packets authenticate with our key');
      } finally {
        c.close();
      }
    });

    test('SDES-no / SDES-only flags (and the SDES key) restrict the suites offered and accepted', async () => {
      const base = p.spare[74]!;
      const offer = (id: string, proto: string, crypto: string[], extra: BDict) =>
        p.ng.request({
          command: 'offer',
          'call-id': `sdes-${id}-${dataplane}`,
          'from-tag': 'tagA',
          sdp: sdp(base, proto, crypto),
          ...extra,
        });
      const no80 = await offer('no', 'RTP/AVP', [], {
        'transport-protocol': 'RTP/SAVP',
        flags: ['SDES-no-AES_CM_128_HMAC_SHA1_80'],
      });
      assert.equal(no80.warning, undefined);
      assert.deepEqual(
        cryptoOf(String(no80.sdp)).map((x) => [x.tag, x.suite]),
        [[1, 'AES_CM_128_HMAC_SHA1_32']],
      );
      const only = await offer('only', 'RTP/AVP', [], {
        'transport-protocol': 'RTP/SAVP',
        SDES: ['only-AES_CM_128_HMAC_SHA1_80'],
      });
      assert.deepEqual(
        cryptoOf(String(only.sdp)).map((x) => x.suite),
        ['AES_CM_128_HMAC_SHA1_80'],
      );
      // An SRTP offer: the first line of an allowed suite is taken (answered below with its tag).
      const two = [`1 AES_CM_128_HMAC_SHA1_80 inline:${KEY_A}`, `2 AES_CM_128_HMAC_SHA1_32 inline:${KEY_A}`];
      const r = await offer('pick', 'RTP/SAVP', two, {
        'transport-protocol': 'RTP/AVP',
        flags: ['SDES-only-AES_CM_128_HMAC_SHA1_32'],
      });
      assert.equal(r.result, 'ok');
      const ans = await p.ng.request({
        command: 'answer',
        'call-id': `sdes-pick-${dataplane}`,
        'from-tag': 'tagA',
        'to-tag': 'tagB',
        sdp: sdp(base + 2, 'RTP/AVP'),
      });
      assert.deepEqual(
        cryptoOf(String(ans.sdp)).map((x) => [x.tag, x.suite]),
        [[2, 'AES_CM_128_HMAC_SHA1_32']],
      );
    });

    test('an SRTP offer with no suite we support passes as offered, with a warning', async () => {
      const base = p.spare[70]!;
      const r = await p.ng.request({
        command: 'offer',
        'call-id': `srtp-none-${dataplane}`,
        'from-tag': 'tagA',
        sdp: sdp(base, 'RTP/SAVP', [`1 AEAD_AES_256_GCM inline:${Buffer.alloc(44, 1).toString('base64')}`]),
        'transport-protocol': 'RTP/AVP',
      });
      assert.equal(r.result, 'ok');
      assert.match(String(r.warning), /No SDES crypto suite we support/);
      assert.equal(mline(String(r.sdp)), 'RTP/SAVP');
      assert.match(String(r.sdp), /a=crypto:1 AEAD_AES_256_GCM/);
    });
  });
}
