/**
 * `codec: { transcode }` between PCMU, PCMA and G.722, black-box: the SDP each party sees, every packet's
 * bytes between the G.711 laws, the tone through G.722, on both dataplanes.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { G722Decoder, G722Encoder } from '../../src/media/g722.js';
import { ALAW_TO_ULAW, g711Decode, g711Encode, ULAW_TO_ALAW } from '../../src/media/g711.js';
import type { BDict } from '../../src/wire/bencode.js';
import { rtp } from '../helpers/endpoint.js';
import { reservePortBlock } from '../helpers/ports.js';
import { type RunningProxy, startProxy } from '../helpers/proxy.js';
import { assertTone, referenceTone } from '../helpers/tone.js';
import { mediaCall } from './media-helpers.js';

const mline = (s: unknown) => /^m=audio \d+ RTP\/AVP (.*)$/m.exec(String(s))?.[1];

/** Every byte value once (payloads of 128 bytes, like 16 ms of G.711). */
const allCodes = [
  Buffer.from(Array.from({ length: 128 }, (_, i) => i)),
  Buffer.from(Array.from({ length: 128 }, (_, i) => 128 + i)),
];

const TONE = referenceTone(4000);

/** Offer `offerFmts` from A (with `offerExtra`), answer `answerFmts` from B; telephone-event is PT 101. */
const call = (p: RunningProxy, offerFmts: string, answerFmts: string, offerExtra: BDict) => {
  const fmts = (formats: string) => ({ formats, rtpmaps: ['101 telephone-event/8000'] });
  return mediaCall(p, fmts(offerFmts), offerExtra, undefined, fmts(answerFmts));
};

for (const dataplane of ['native', 'js']) {
  describe(`codec transcode between PCMU, PCMA and G.722 (${dataplane} dataplane)`, () => {
    let p: RunningProxy;
    const httpPort = reservePortBlock();
    before(async () => {
      p = await startProxy([`--dataplane=${dataplane}`, `--listen-http=127.0.0.1:${httpPort}`]);
    });
    after(async () => {
      await p.stop();
    });

    test('the offer gains PCMA before telephone-event; answered with it, A gets PCMU back and every byte is converted', async () => {
      const c = await call(p, '0 101', '8 101', { codec: { transcode: ['PCMA'] } });
      try {
        assert.equal(mline(c.offer.sdp), '0 8 101');
        assert.match(String(c.offer.sdp), /a=rtpmap:8 PCMA\/8000/);
        assert.equal(mline(c.answer.sdp), '0 101');
        assert.doesNotMatch(String(c.answer.sdp), /PCMA/);
        for (const [i, pay] of allCodes.entries()) {
          c.a.send(rtp(0, 100 + i, 128 * i, 0xa, pay, i === 0), c.toProxyFromA);
          const atB = (await c.b.next()).msg;
          assert.equal(atB[1], (i === 0 ? 0x80 : 0) | 8, 'PCMA, marker kept');
          assert.equal(atB.readUInt16BE(2), 100 + i, 'sequence number kept');
          assert.equal(atB.readUInt32BE(4), 128 * i, 'timestamp kept');
          assert.equal(atB.readUInt32BE(8), 0xa, 'SSRC kept');
          assert.deepEqual(
            [...atB.subarray(12)],
            [...pay].map((x) => ULAW_TO_ALAW[x]),
          );

          c.b.send(rtp(8, 200 + i, 128 * i, 0xb, pay), c.toProxyFromB);
          const atA = (await c.a.next()).msg;
          assert.equal(atA[1], 0, 'PCMU');
          assert.deepEqual(
            [...atA.subarray(12)],
            [...pay].map((x) => ALAW_TO_ULAW[x]),
          );
        }
        // telephone-event goes through as it is.
        const ev = rtp(101, 110, 0, 0xa, Buffer.from([1, 10, 0, 160]), true);
        c.a.send(ev, c.toProxyFromA);
        assert.deepEqual((await c.b.next()).msg, ev);

        const stats = await p.ng.request({ command: 'statistics' });
        const current = (stats.statistics as { currentstatistics: { transcodedmedia: number } })
          .currentstatistics;
        assert.equal(current.transcodedmedia, 1);
        const metrics = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
        assert.match(metrics, /^sipmedia_transcoded_media 1$/m);
      } finally {
        await p.ng.request({ command: 'delete', 'call-id': c.callId, 'from-tag': 'tagA', 'delete delay': 0 });
        c.close();
      }
    });

    test('a duty that needs the packets (block DTMF) takes conversion to the tap and back, no packet missed', async () => {
      const c = await call(p, '0 101', '8 101', { codec: { transcode: ['PCMA'] } });
      const converted = async (seq: number) => {
        c.a.send(rtp(0, seq, 0, 0xa, allCodes[0]), c.toProxyFromA);
        const m = (await c.b.next()).msg;
        assert.equal(m[1], 8, `packet ${seq} converted`);
        assert.deepEqual(
          [...m.subarray(12)],
          [...allCodes[0]!].map((x) => ULAW_TO_ALAW[x]),
        );
      };
      try {
        await converted(1);
        assert.equal((await p.ng.request({ command: 'block DTMF', 'call-id': c.callId })).result, 'ok');
        c.a.send(rtp(101, 2, 0, 0xa, Buffer.from([1, 10, 0, 160])), c.toProxyFromA);
        await converted(3); // the event before it was dropped
        assert.equal((await p.ng.request({ command: 'unblock DTMF', 'call-id': c.callId })).result, 'ok');
        await converted(4);
        c.a.send(rtp(101, 5, 0, 0xa, Buffer.from([1, 10, 0, 160])), c.toProxyFromA);
        assert.equal((await c.b.next()).msg[1]! & 0x7f, 101, 'events pass again');
      } finally {
        c.close();
      }
    });

    test('codec-mask-all codec-transcode-PCMA: the callee sees PCMA only, A is answered PCMU and converted', async () => {
      const c = await call(p, '0 101', '8 101', { flags: ['codec-mask-all', 'codec-transcode-PCMA'] });
      try {
        assert.equal(mline(c.offer.sdp), '8');
        assert.equal(mline(c.answer.sdp), '0', 'telephone-event was not offered on, so it is not answered');
        c.a.send(rtp(0, 1, 0, 0xa, allCodes[1]), c.toProxyFromA);
        const atB = (await c.b.next()).msg;
        assert.equal(atB[1], 8);
        assert.deepEqual(
          [...atB.subarray(12)],
          [...allCodes[1]!].map((x) => ULAW_TO_ALAW[x]),
        );
      } finally {
        c.close();
      }
    });

    test('G.722 caller, PCMA callee: the callee is offered PCMA, hears the tone, and its PCMA reaches A as G.722', async () => {
      const c = await call(p, '9 101', '8 101', { codec: { transcode: ['PCMA'] } });
      try {
        assert.equal(mline(c.offer.sdp), '9 8 101');
        assert.equal(mline(c.answer.sdp), '9 101');
        const enc = new G722Encoder();
        const fromA: Buffer[] = [];
        const fromB: Buffer[] = [];
        for (let k = 0; k < 25; k++) {
          const seg = TONE.subarray(160 * k, 160 * k + 160);
          c.a.send(rtp(9, k, 160 * k, 0xa, Buffer.from(enc.encode(seg))), c.toProxyFromA);
          const atB = (await c.b.next()).msg;
          assert.equal(atB[1], 8);
          fromA.push(atB.subarray(12));
          c.b.send(rtp(8, k, 160 * k, 0xb, Buffer.from(g711Encode('PCMA', seg))), c.toProxyFromB);
          const atA = (await c.a.next()).msg;
          assert.equal(atA[1], 9);
          assert.equal(atA.length, 172, 'one G.722 byte per 8 kHz sample');
          fromB.push(atA.subarray(12));
        }
        assertTone(g711Decode('PCMA', Buffer.concat(fromA)), TONE, 'A to B (G.722 to PCMA)');
        assertTone(new G722Decoder().decode(Buffer.concat(fromB)), TONE, 'B to A (PCMA to G.722)');
      } finally {
        c.close();
      }
    });

    test('answered with the codec A offered: no conversion, the added codec leaves the answer', async () => {
      const c = await call(p, '0 101', '0 8 101', { flags: ['codec-transcode-PCMA'] });
      try {
        assert.equal(mline(c.offer.sdp), '0 8 101');
        assert.equal(mline(c.answer.sdp), '0 101');
        c.a.send(rtp(0, 1, 0, 0xa, allCodes[0]), c.toProxyFromA);
        const atB = (await c.b.next()).msg;
        assert.equal(atB[1], 0);
        assert.deepEqual(atB.subarray(12), allCodes[0]);
      } finally {
        c.close();
      }
    });
  });
}

test('transcode: CN stays after the added codec; a codec already offered or one we cannot convert adds nothing', async () => {
  const p = await startProxy();
  try {
    const cn = await call(p, '0 13 101', '0 101', { codec: { transcode: ['PCMA'] } });
    assert.equal(mline(cn.offer.sdp), '0 8 13 101');
    cn.close();
    const present = await call(p, '8 0 101', '8 101', { codec: { transcode: ['PCMU'] } });
    assert.equal(mline(present.offer.sdp), '8 0 101');
    present.close();
    const opus = await call(p, '0 101', '0 101', { codec: { transcode: ['opus'] } });
    assert.equal(mline(opus.offer.sdp), '0 101');
    assert.match(String(opus.offer.warning), /'opus' cannot be transcoded/);
    opus.close();
  } finally {
    await p.stop();
  }
});
