/**
 * Music on hold: `moh` given on the offer makes the offerer the holder; its re-offer with a=sendonly (or
 * inactive; with `connection: zero` also c=0.0.0.0) starts the music towards the other party, its sendrecv
 * re-offer stops it.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ulawDecodeSample } from '../../src/media/g711.js';
import { toneDominance } from '../../src/media/goertzel.js';
import type { BDict } from '../../src/wire/bencode.js';
import { rtp } from '../helpers/endpoint.js';
import { type RunningProxy, startProxy } from '../helpers/proxy.js';
import { collect, collectUntilQuiet, mediaCall, PCMU, sdpWith, toneWav } from './media-helpers.js';

let p: RunningProxy;
before(async () => {
  p = await startProxy(['--delete-delay=0']);
});
after(async () => {
  await p.stop();
});

const music = toneWav(1000, 8000, 1, 0.5).toString('base64');

/** A's re-offer with its SDP changed by `edit` (same ports). */
async function reoffer(callId: string, port: number, edit: (sdp: string) => string, extra: BDict = {}) {
  const r = await p.ng.request({
    command: 'offer',
    'call-id': callId,
    'from-tag': 'tagA',
    sdp: edit(sdpWith(port, PCMU.formats, PCMU.rtpmaps)),
    ...extra,
  });
  assert.equal(r.result, 'ok', JSON.stringify(r));
  assert.equal(r.warning, undefined, String(r.warning));
  return r;
}

const sendonly = (s: string) => s.replace('a=sendrecv', 'a=sendonly');
const playback = async (callId: string) => {
  const q = await p.ng.request({ command: 'query', 'call-id': callId });
  return (q.tags as Record<string, BDict>).tagA?.playback;
};

/** `e` (B unless said) hears the music: 1 kHz dominates the decoded packets. */
async function hearsMusic(c: Awaited<ReturnType<typeof mediaCall>>, e = c.b): Promise<void> {
  const pkts = await collect(e, 10);
  const pcm = Int16Array.from(Buffer.concat(pkts.map((k) => k.subarray(12))), ulawDecodeSample);
  assert.ok(toneDominance(pcm, 1000, [400, 700, 1300, 2000], 8000) > 1000, 'the music is heard');
}

test('hold (sendonly) plays the music to the other party, looping; unhold stops it and A is heard again', async () => {
  const c = await mediaCall(p, PCMU, { moh: { blob64: music } });
  try {
    const port = c.a.port;
    await reoffer(c.callId, port, sendonly);
    await hearsMusic(c);
    // 0.5 s of music, yet it goes on: it loops.
    await collect(c.b, 30);
    assert.ok(await playback(c.callId), 'query shows the playback under the holder');
    await reoffer(c.callId, port, (s) => s);
    assert.equal(await playback(c.callId), undefined, 'stopped at unhold');
    await collectUntilQuiet(c.b, 200);
    const mine = rtp(0, 500, 80_000, 0x77, Buffer.alloc(160, 0x11));
    c.a.send(mine, c.toProxyFromA);
    const got = (await c.b.next(1500)).msg;
    assert.equal(got.subarray(12).toString('hex'), mine.subarray(12).toString('hex'), "A's own audio again");
  } finally {
    c.close();
  }
});

test('inactive holds too; c=0.0.0.0 only with connection: zero; no moh, no music', async () => {
  const zero = (s: string) => s.replace('c=IN IP4 127.0.0.1', 'c=IN IP4 0.0.0.0');
  const a = await mediaCall(p, PCMU, { moh: { blob64: music } });
  const b = await mediaCall(p, PCMU, { moh: { blob64: music, connection: 'zero' } });
  const none = await mediaCall(p, PCMU);
  try {
    await reoffer(a.callId, a.a.port, (s) => s.replace('a=sendrecv', 'a=inactive'));
    await hearsMusic(a);
    await reoffer(a.callId, a.a.port, zero);
    assert.equal(await playback(a.callId), undefined, 'c=0.0.0.0 without connection: zero is no hold');
    await reoffer(b.callId, b.a.port, zero);
    await hearsMusic(b);
    await reoffer(none.callId, none.a.port, sendonly);
    assert.equal(await playback(none.callId), undefined);
  } finally {
    a.close();
    b.close();
    none.close();
  }
});

test('a bad moh is a warning and changes nothing', async () => {
  const c = await mediaCall(p);
  try {
    const r = await p.ng.request({
      command: 'offer',
      'call-id': c.callId,
      'from-tag': 'tagA',
      sdp: sendonly(sdpWith(c.a.port, PCMU.formats, PCMU.rtpmaps)),
      moh: { 'db-id': 7 },
    });
    assert.equal(r.result, 'ok');
    assert.match(String(r.warning), /'moh' without file, blob or blob64 ignored \(db-id is not supported\)/);
    assert.equal(await playback(c.callId), undefined);
  } finally {
    c.close();
  }
});

test('moh on the answer makes the answerer the holder: its own re-offer with sendonly plays to the caller', async () => {
  const c = await mediaCall(p);
  try {
    const re = await p.ng.request({
      command: 'answer',
      'call-id': c.callId,
      'from-tag': 'tagA',
      'to-tag': 'tagB',
      sdp: sdpWith(c.b.port, PCMU.formats, PCMU.rtpmaps),
      moh: { blob64: music },
    });
    assert.equal(re.result, 'ok', JSON.stringify(re));
    const hold = await p.ng.request({
      command: 'offer',
      'call-id': c.callId,
      'from-tag': 'tagB',
      'to-tag': 'tagA',
      sdp: sendonly(sdpWith(c.b.port, PCMU.formats, PCMU.rtpmaps)),
    });
    assert.equal(hold.result, 'ok', JSON.stringify(hold));
    await hearsMusic(c, c.a);
  } finally {
    c.close();
  }
});
