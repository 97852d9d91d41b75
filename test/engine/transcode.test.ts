import assert from 'node:assert/strict';
import { test } from 'node:test';
import { planAnswer, planOffer, transcodePacket } from '../../src/engine/transcode.js';
import { ULAW_TO_ALAW } from '../../src/media/g711.js';
import { rtpPayloadEnd, rtpPayloadOffset } from '../../src/wire/rtp.js';
import { Sdp } from '../../src/wire/sdp.js';

const NONE = { removed: [], stripped: [] };
const media = (fmts: string, event = 101) =>
  Sdp.parse(
    `v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP ${fmts}\r\n` +
      `a=rtpmap:${event} telephone-event/8000\r\n`,
  ).media[0]!;

test('telephone-event numbered differently on the two sides is mapped both ways', () => {
  const warnings: string[] = [];
  const o = planOffer(media('8 101'), ['PCMU'], NONE, warnings);
  assert.deepEqual(o.add, [0]);
  const a = planAnswer(media('0 96', 96), o.offer);
  assert.deepEqual(a.replace, [0, 8]);
  assert.deepEqual(a.offerer?.events, [101, 96]);
  assert.deepEqual(a.answerer?.events, [96, 101]);
  assert.deepEqual(warnings, []);
});

test('a codec stripped by name is no source (the answer then passes, as with rtpengine); masked ones are', () => {
  const stripped = planOffer(media('0 101'), ['PCMA'], { removed: [0], stripped: [0] }, []);
  assert.deepEqual(stripped.add, [8]);
  assert.equal(stripped.offer?.from, undefined);
  assert.equal(planAnswer(media('8 101'), stripped.offer).offerer, undefined);
  const masked = planOffer(media('0 101'), ['PCMA'], { removed: [0, 101], stripped: [] }, []);
  assert.deepEqual(masked.offer?.from, { pt: 0, codec: 'PCMU' });
  assert.deepEqual(planAnswer(media('8'), masked.offer).replace, [8, 0]);
});

test('an offer without a codec we convert (PCMU, PCMA, G722) gets nothing added, with a warning', () => {
  const w: string[] = [];
  assert.deepEqual(planOffer(media('18 101'), ['PCMA'], NONE, w), { offer: undefined, add: [] });
  assert.match(w.join(), /needs PCMU, PCMA or G722/);
});

test('conversion covers the payload only: CSRCs, header extension and padding stay', () => {
  const t = planAnswer(media('8 101'), planOffer(media('0 101'), ['PCMA'], NONE, []).offer).offerer!;
  const head = Buffer.from([
    0xb1, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 0, 7, 1, 2, 3, 4, 0xbe, 0xde, 0, 1, 9, 9, 9, 9,
  ]);
  const pkt = Buffer.concat([head, Buffer.from([0x00, 0x7f, 0xff]), Buffer.from([0, 2])]);
  const before = Buffer.from(pkt);
  const off = rtpPayloadOffset(pkt);
  assert.equal(transcodePacket(t, pkt, off, rtpPayloadEnd(pkt, off)), true);
  assert.equal(pkt[1], 8);
  assert.deepEqual(pkt.subarray(2, head.length), before.subarray(2, head.length));
  assert.deepEqual(
    [...pkt.subarray(head.length, head.length + 3)],
    [0x00, 0x7f, 0xff].map((b) => ULAW_TO_ALAW[b]),
  );
  assert.deepEqual(pkt.subarray(-2), Buffer.from([0, 2]));
});
