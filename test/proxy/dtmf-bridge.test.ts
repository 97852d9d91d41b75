/**
 * `codec-transcode-telephone-event`, black-box on both dataplanes: a caller without telephone-event is offered
 * on with it; when the callee accepts, the callee's RFC 4733 events reach the caller as the key's tones and the
 * caller's in-band keys reach the callee as events, in place of the tone audio.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { dtmfKeyIn, dtmfToneSamples } from '../../src/media/dtmf-tones.js';
import { type G711Codec, g711Decode, g711Encode } from '../../src/media/g711.js';
import { parseRtpEvent, serializeRtpEvent } from '../../src/wire/rtp-event.js';
import { rtp } from '../helpers/endpoint.js';
import { type RunningProxy, startProxy } from '../helpers/proxy.js';
import { type MediaCall, mediaCall } from './media-helpers.js';

const mline = (s: unknown) => /^m=audio \d+ RTP\/AVP (.*)$/m.exec(String(s))?.[1];
const FLAG = { flags: ['codec-transcode-telephone-event'] };

function bridgedCall(p: RunningProxy, codec: G711Codec, answerEvents = true): Promise<MediaCall> {
  const pt = codec === 'PCMU' ? 0 : 8;
  const own = { formats: `${pt}`, rtpmaps: [`${pt} ${codec}/8000`] };
  const callee = answerEvents
    ? { formats: `${pt} 96`, rtpmaps: [`${pt} ${codec}/8000`, '96 telephone-event/8000'] }
    : own;
  return mediaCall(p, own, FLAG, undefined, callee);
}

const silence = (codec: G711Codec) => Buffer.from(g711Encode(codec, new Int16Array(160)));
const keyFrame = (codec: G711Codec, event: number, i: number) =>
  Buffer.from(g711Encode(codec, dtmfToneSamples(event, 160, 160 * i, 10)!));

for (const dataplane of ['native', 'js']) {
  describe(`telephone-event <-> in-band DTMF (${dataplane} dataplane)`, () => {
    let p: RunningProxy;
    before(async () => {
      p = await startProxy([`--dataplane=${dataplane}`]);
    });
    after(async () => {
      await p.stop();
    });

    for (const codec of ['PCMU', 'PCMA'] as const) {
      const pt = codec === 'PCMU' ? 0 : 8;
      test(`${codec}: the callee is offered telephone-event, the caller answered without; keys cross both ways`, async () => {
        const c = await bridgedCall(p, codec);
        try {
          assert.equal(mline(c.offer.sdp), `${pt} 96`);
          assert.match(String(c.offer.sdp), /a=rtpmap:96 telephone-event\/8000\r\na=fmtp:96 0-15\r\n/);
          assert.equal(mline(c.answer.sdp), `${pt}`);
          assert.doesNotMatch(String(c.answer.sdp), /telephone-event/);

          // B presses '#' (event 11): five event packets, the end and its two retransmissions.
          c.b.send(rtp(pt, 1, 1000, 0xb, silence(codec)), c.toProxyFromB);
          assert.equal((await c.a.next()).msg[1], pt);
          const pcm: Int16Array[] = [];
          for (let i = 1; i <= 5; i++) {
            const ev = Buffer.from(
              serializeRtpEvent({ event: 11, end: i === 5, volume: 10, duration: 160 * i }),
            );
            c.b.send(rtp(96, 1 + i, 1160, 0xb, ev, i === 1), c.toProxyFromB);
            const got = (await c.a.next()).msg;
            assert.equal(got[1]! & 0x7f, pt, `event packet ${i} arrives as ${codec} audio`);
            assert.equal(got.readUInt16BE(2), 1 + i, 'sequence number kept');
            assert.equal(got.readUInt32BE(4), 1160 + 160 * (i - 1), 'timestamp: the time the packet adds');
            assert.equal(got.length, 12 + 160);
            pcm.push(g711Decode(codec, got.subarray(12)));
          }
          for (const [i, block] of pcm.entries())
            assert.equal(dtmfKeyIn(block), 11, `tone of '#' in packet ${i}`);
          const repeat = Buffer.from(serializeRtpEvent({ event: 11, end: true, volume: 10, duration: 800 }));
          c.b.send(rtp(96, 7, 1160, 0xb, repeat), c.toProxyFromB);
          c.b.send(rtp(96, 8, 1160, 0xb, repeat), c.toProxyFromB);
          c.b.send(rtp(pt, 9, 1960, 0xb, silence(codec)), c.toProxyFromB);
          const next = (await c.a.next()).msg;
          assert.equal(next.readUInt16BE(2), 9, 'end retransmissions add no audio');
          assert.equal(dtmfKeyIn(g711Decode(codec, next.subarray(12))), undefined);

          // A presses '7' in-band for 8 frames between pauses.
          const seen: Buffer[] = [];
          const frames = [
            ...Array.from({ length: 2 }, () => silence(codec)),
            ...Array.from({ length: 8 }, (_, i) => keyFrame(codec, 7, i)),
            ...Array.from({ length: 4 }, () => silence(codec)),
          ];
          for (const [i, f] of frames.entries()) {
            c.a.send(rtp(pt, 50 + i, 8000 + 160 * i, 0xa, f), c.toProxyFromA);
            seen.push((await c.b.next()).msg);
          }
          assert.deepEqual(
            seen.map((m) => m.readUInt16BE(2)),
            frames.map((_, i) => 50 + i),
            'one packet out per packet in, in order',
          );
          const kinds = seen.map((m) => (m[1]! & 0x7f) === 96);
          // The first tone frame passes (one block is not yet a key), the next seven become events,
          // then the end and its two retransmissions take the first three frames of silence.
          assert.deepEqual(kinds, [
            false,
            false,
            false,
            true,
            true,
            true,
            true,
            true,
            true,
            true,
            true,
            true,
            true,
            false,
          ]);
          const events = seen.filter((m) => (m[1]! & 0x7f) === 96);
          const start = 8000 + 160 * 3;
          for (const [i, m] of events.entries()) {
            const e = parseRtpEvent(m.subarray(12));
            assert.equal(e.event, 7);
            assert.equal(m.readUInt32BE(4), start, 'every packet carries the event start');
            assert.equal(m.readUInt32BE(8), 0xa, 'SSRC kept');
            assert.equal((m[1]! & 0x80) !== 0, i === 0, 'marker on the first');
            if (i < 7) assert.deepEqual([e.end, e.duration], [false, 160 * (i + 1)]);
            else assert.deepEqual([e.end, e.duration], [true, 7 * 160], 'end: up to the first silent frame');
          }
        } finally {
          c.close();
        }
      });
    }

    test('a callee answering without telephone-event gets the in-band tones as they are', async () => {
      const c = await bridgedCall(p, 'PCMU', false);
      try {
        assert.equal(mline(c.offer.sdp), '0 96');
        assert.equal(mline(c.answer.sdp), '0');
        for (let i = 0; i < 6; i++) {
          const f = keyFrame('PCMU', 3, i);
          c.a.send(rtp(0, 10 + i, 160 * i, 0xa, f), c.toProxyFromA);
          const got = (await c.b.next()).msg;
          assert.equal(got[1], 0);
          assert.deepEqual(got.subarray(12), f);
        }
        assert.equal(dtmfKeyIn(g711Decode('PCMU', keyFrame('PCMU', 3, 0))), 3, 'the frames did hold a key');
      } finally {
        c.close();
      }
    });
  });
}
