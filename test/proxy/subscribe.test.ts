/**
 * Media subscriptions (`subscribe request`, `subscribe answer`, `unsubscribe`) on both dataplanes: a third
 * party C gets a sendonly offer mirroring A's media section with the codecs in use, then a copy of every RTP
 * and RTCP packet A sends (B still gets them), nothing of B's; after `unsubscribe` the copies stop and the tag
 * is gone. The replies (keys, the offer's codec line and direction, errors) are compared with rtpengine 10.5's.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { payloadConverter } from '../../src/media/narrowband-convert.js';
import type { BDict } from '../../src/wire/bencode.js';
import { Endpoint, rtcpRR, rtp, sdpPorts } from '../helpers/endpoint.js';
import { type RunningProxy, startProxy } from '../helpers/proxy.js';
import { type MediaProxy, rtpengineInstalled, startRtpengine } from '../helpers/rtpengine.js';

function sdp(port: number, formats: string, direction = 'sendrecv'): string {
  return (
    `v=0\r\no=ep 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n` +
    `m=audio ${port} RTP/AVP ${formats}\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n` +
    `a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=${direction}\r\n`
  );
}

async function ok(p: { ng: { request(b: BDict): Promise<BDict> } }, body: BDict): Promise<BDict> {
  const r = await p.ng.request(body);
  assert.equal(r.result, 'ok', JSON.stringify(r));
  return r;
}

/** A offers PCMU, PCMA and events; B answers PCMA and events. */
async function call(p: { ng: { request(b: BDict): Promise<BDict> } }, callId: string, a: number, b: number) {
  const offer = await ok(p, { command: 'offer', 'call-id': callId, 'from-tag': 'A', sdp: sdp(a, '0 8 101') });
  const answer = await ok(p, {
    command: 'answer',
    'call-id': callId,
    'from-tag': 'A',
    'to-tag': 'B',
    sdp: sdp(b, '8 101'),
  });
  // The offer's port is where B sends, the answer's where A sends.
  return { portForB: sdpPorts(String(offer.sdp)).rtp, portForA: sdpPorts(String(answer.sdp)).rtp };
}

/** What a subscribe request's reply looks like, without the values that differ between proxies. */
function shape(r: BDict) {
  const s = String(r.sdp);
  return {
    keys: Object.keys(r).sort(),
    media: /^m=audio \d+ (.*)\r$/m.exec(s)?.[1],
    sendonly: /^a=sendonly\r$/m.test(s),
    rtcp: /^a=rtcp:\d+\r$/m.test(s),
    fromTags: r['from-tags'],
  };
}

describe('media subscriptions compared with rtpengine', { skip: !rtpengineInstalled() }, () => {
  let ours: RunningProxy;
  let theirs: MediaProxy;
  before(async () => {
    ours = await startProxy(['--delete-delay=0']);
    theirs = await startRtpengine();
  });
  after(async () => {
    await ours?.stop();
    await theirs?.stop();
  });

  test('the same reply keys, codecs in use, direction and errors', async () => {
    for (const p of [ours, theirs]) await call(p, 'sub-compare', 41000, 41010);
    const req = { command: 'subscribe request', 'call-id': 'sub-compare', 'from-tag': 'A' };
    const [a, b] = [await ok(ours, req), await ok(theirs, req)];
    assert.deepEqual(shape(a), shape(b));
    assert.match(String(a['to-tag']), /^[0-9a-f]{64}$/);
    const all = { command: 'subscribe request', 'call-id': 'sub-compare', flags: ['all'], 'to-tag': 'mon' };
    const [x, y] = [await ok(ours, all), await ok(theirs, all)];
    assert.deepEqual(x['from-tags'], y['from-tags']);
    assert.equal(x['to-tag'], 'mon');
    assert.equal(String(x.sdp).match(/^m=/gm)?.length, String(y.sdp).match(/^m=/gm)?.length);
    // Tags as flags (`from-tags-TAG`, as the rtpp-flags form sends them): the tags keep their case.
    const byFlags = {
      command: 'subscribe request',
      'call-id': 'sub-compare',
      flags: ['from-tags-A', 'from-tags-B'],
      'to-tag': 'mon2',
    };
    const [f1, f2] = [await ok(ours, byFlags), await ok(theirs, byFlags)];
    assert.deepEqual(f1['from-tags'], f2['from-tags']);
    assert.deepEqual(f1['from-tags'], ['A', 'B']);
    // The answer must take every codec offered, unless `allow transcoding`.
    const answer = (formats: string, flags: string[] = []) => ({
      command: 'subscribe answer',
      'call-id': 'sub-compare',
      'to-tag': 'mon',
      sdp: `${sdp(41030, formats, 'recvonly')}m=audio 41032 RTP/AVP ${formats}\r\na=recvonly\r\n`,
      flags,
    });
    for (const req of [answer('8'), answer('9')]) {
      const [e1, e2] = [await ours.ng.request(req), await theirs.ng.request(req)];
      assert.deepEqual({ ...e1 }, { ...e2 }, JSON.stringify(req));
      assert.equal(e1['error-reason'], 'Failed to process subscription answer');
    }
    const [t1, t2] = [
      await ours.ng.request(answer('8', ['allow transcoding'])),
      await theirs.ng.request(answer('8', ['allow transcoding'])),
    ];
    assert.equal(t1.result, t2.result);
    assert.equal(t1.result, 'ok');
    for (const bad of <BDict[]>[
      { command: 'subscribe request', 'call-id': 'nope', 'from-tag': 'A' },
      { command: 'subscribe answer', 'call-id': 'sub-compare', 'to-tag': 'zzz', sdp: sdp(1, '8') },
      { command: 'unsubscribe', 'call-id': 'sub-compare', 'to-tag': 'zzz' },
    ]) {
      const [e1, e2] = [await ours.ng.request(bad), await theirs.ng.request(bad)];
      assert.deepEqual({ ...e1 }, { ...e2 }, JSON.stringify(bad));
    }
  });

  test('publish: a recvonly answer with one codec (the first, or the first accepted), ports kept on re-publish', async () => {
    const pub = (callId: string, extra: BDict = {}) => ({
      command: 'publish',
      'call-id': callId,
      'from-tag': 'P',
      sdp: sdp(41020, '0 8 101', 'sendonly'),
      ...extra,
    });
    const line = (r: BDict) => /^m=audio (\d+) (.*)\r$/m.exec(String(r.sdp));
    for (const [req, want] of [
      [pub('pub-1'), 'RTP/AVP 0'],
      [pub('pub-2', { codec: { accept: ['PCMA'] } }), 'RTP/AVP 8'],
    ] as const) {
      const [a, b] = [await ok(ours, req), await ok(theirs, req)];
      assert.deepEqual(Object.keys(a).sort(), Object.keys(b).sort());
      assert.equal(line(a)?.[2], want);
      assert.equal(line(a)?.[2], line(b)?.[2], 'the codec rtpengine answers with');
      assert.match(String(a.sdp), /^a=recvonly\r$/m);
      assert.match(String(a.sdp), /^a=rtcp:\d+\r$/m);
    }
    const again = await ok(ours, pub('pub-1'));
    const first = await ok(ours, pub('pub-1'));
    assert.equal(line(again)?.[1], line(first)?.[1], 'a re-publish keeps the port');
    const sub = { command: 'subscribe request', 'call-id': 'pub-1', 'from-tag': 'P' };
    const [x, y] = [await ok(ours, sub), await ok(theirs, sub)];
    assert.deepEqual(shape(x), shape(y), 'subscribing to a publisher: its one codec, sendonly');
    const noSdp = { command: 'publish', 'call-id': 'pub-3', 'from-tag': 'P' };
    assert.deepEqual({ ...(await ours.ng.request(noSdp)) }, { ...(await theirs.ng.request(noSdp)) });
  });
});

for (const dataplane of ['native', 'js']) {
  describe(`media subscriptions (${dataplane} dataplane)`, () => {
    let p: RunningProxy;
    before(async () => {
      p = await startProxy([`--dataplane=${dataplane}`, '--delete-delay=0']);
    });
    after(async () => {
      await p?.stop();
    });

    test("C receives a copy of A's RTP and RTCP until it unsubscribes; B's media is not copied", async () => {
      const port = p.spare[0]!;
      const a = await Endpoint.open(port);
      const aRtcp = await Endpoint.open(port + 1);
      const b = await Endpoint.open(port + 2);
      const c = await Endpoint.open(port + 4);
      const cRtcp = await Endpoint.open(port + 5);
      try {
        const callId = `sub-${dataplane}`;
        const { portForA, portForB } = await call(p, callId, a.port, b.port);
        const r = await ok(p, {
          command: 'subscribe request',
          'call-id': callId,
          'from-tag': 'A',
          'to-tag': 'C',
        });
        assert.equal(r['to-tag'], 'C');
        assert.deepEqual(r['from-tags'], ['A']);
        const offer = String(r.sdp);
        assert.match(offer, /^m=audio \d+ RTP\/AVP 8 101\r$/m, 'the codecs in use');
        assert.match(offer, /^a=rtpmap:8 PCMA\/8000\r$/m);
        assert.doesNotMatch(offer, /PCMU/);
        assert.match(offer, /^a=sendonly\r$/m);
        await ok(p, {
          command: 'subscribe answer',
          'call-id': callId,
          'to-tag': 'C',
          sdp: sdp(c.port, '8 101', 'recvonly'),
        });
        const fromSub = sdpPorts(offer).rtp;

        const k = rtp(8, 1, 160, 0xa1a1a1a1, Buffer.alloc(160, 0x55));
        a.send(k, portForA);
        const atB = await b.next();
        const atC = await c.next();
        assert.deepEqual(atB.msg, k);
        assert.deepEqual(atC.msg, k, 'the copy is the packet A sent');
        assert.equal(atC.from.port, fromSub, 'from the port offered to C');
        const rr = rtcpRR(0xa1a1a1a1);
        aRtcp.send(rr, portForA + 1);
        assert.deepEqual((await cRtcp.next()).msg, rr, "A's RTCP copied to C's RTCP port");
        b.send(rtp(8, 1, 160, 0xb2b2b2b2), portForB);
        await a.next();
        // One more of A's after B's: if B's had been copied it would arrive at C first.
        const k2 = rtp(8, 2, 320, 0xa1a1a1a1);
        a.send(k2, portForA);
        await b.next();
        assert.deepEqual((await c.next()).msg, k2, "B's media is not copied");

        const q = await ok(p, { command: 'query', 'call-id': callId });
        assert.ok('C' in (q.tags as BDict), 'the subscriber is a participant of the call');
        await ok(p, { command: 'unsubscribe', 'call-id': callId, 'to-tag': 'C' });
        const q2 = await ok(p, { command: 'query', 'call-id': callId });
        assert.ok(!('C' in (q2.tags as BDict)), 'gone after unsubscribe');
        const k3 = rtp(8, 3, 480, 0xa1a1a1a1);
        a.send(k3, portForA);
        assert.deepEqual((await b.next()).msg, k3);
        // B got it, so a copy would have been sent by now; give it the same chance to arrive.
        a.send(rtp(8, 4, 640, 0xa1a1a1a1), portForA);
        await b.next();
        assert.equal(c.pending(), 0, 'no copies after unsubscribe');
        await ok(p, { command: 'delete', 'call-id': callId });
      } finally {
        for (const e of [a, aRtcp, b, c, cRtcp]) e.close();
      }
    });

    test('allow transcoding: a subscriber that takes only PCMA gets converted copies of PCMU', async () => {
      const a = await Endpoint.open(p.spare[20]!);
      const b = await Endpoint.open(p.spare[22]!);
      const c = await Endpoint.open(p.spare[24]!);
      try {
        const callId = `sub-xcode-${dataplane}`;
        await ok(p, { command: 'offer', 'call-id': callId, 'from-tag': 'A', sdp: sdp(a.port, '0') });
        const answer = await ok(p, {
          command: 'answer',
          'call-id': callId,
          'from-tag': 'A',
          'to-tag': 'B',
          sdp: sdp(b.port, '0'),
        });
        await ok(p, { command: 'subscribe request', 'call-id': callId, 'from-tag': 'A', 'to-tag': 'C' });
        const take = {
          command: 'subscribe answer',
          'call-id': callId,
          'to-tag': 'C',
          sdp: sdp(c.port, '8', 'recvonly'),
        };
        const refused = await p.ng.request(take);
        assert.equal(refused['error-reason'], 'Failed to process subscription answer', 'PCMA only, no flag');
        await ok(p, { ...take, flags: ['allow transcoding'] });
        const payload = Buffer.from(Array.from({ length: 160 }, (_, i) => (i * 37) & 0xff));
        const k = rtp(0, 1, 160, 0xabcdef01, payload);
        a.send(k, sdpPorts(String(answer.sdp)).rtp);
        assert.deepEqual((await b.next()).msg, k, 'B gets PCMU as sent');
        const got = (await c.next()).msg;
        const want = Buffer.from(payload);
        payloadConverter('PCMU', 'PCMA')!.convert(want);
        assert.equal(got[1]! & 0x7f, 8, 'payload type PCMA');
        assert.deepEqual(got.subarray(12), want, 'the payload converted');
        assert.deepEqual(got.subarray(2, 12), k.subarray(2, 12), 'sequence, timestamp and SSRC kept');
        await ok(p, { command: 'delete', 'call-id': callId });
      } finally {
        for (const e of [a, b, c]) e.close();
      }
    });

    test('a re-offer that moves the subscribed party to new ports keeps the copies coming', async () => {
      const a = await Endpoint.open(p.spare[30]!);
      const a2 = await Endpoint.open(p.spare[32]!);
      const b = await Endpoint.open(p.spare[34]!);
      const c = await Endpoint.open(p.spare[36]!);
      try {
        const callId = `sub-move-${dataplane}`;
        const { portForA } = await call(p, callId, a.port, b.port);
        await ok(p, { command: 'subscribe request', 'call-id': callId, 'from-tag': 'A', 'to-tag': 'C' });
        await ok(p, {
          command: 'subscribe answer',
          'call-id': callId,
          'to-tag': 'C',
          sdp: sdp(c.port, '8 101', 'recvonly'),
        });
        // A moves to another port; `no port latching` gives its side new ports on the proxy too.
        await ok(p, {
          command: 'offer',
          'call-id': callId,
          'from-tag': 'A',
          'to-tag': 'B',
          sdp: sdp(a2.port, '0 8 101'),
          flags: ['no port latching'],
        });
        const reanswer = await ok(p, {
          command: 'answer',
          'call-id': callId,
          'from-tag': 'A',
          'to-tag': 'B',
          sdp: sdp(b.port, '8 101'),
        });
        const moved = sdpPorts(String(reanswer.sdp)).rtp;
        assert.notEqual(moved, portForA, 'A got new ports');
        const k = rtp(8, 1, 160, 0xa2a2a2a2);
        a2.send(k, moved);
        assert.deepEqual((await b.next()).msg, k);
        assert.deepEqual((await c.next()).msg, k, 'C still gets the copies');
        await ok(p, { command: 'delete', 'call-id': callId });
      } finally {
        for (const e of [a, a2, b, c]) e.close();
      }
    });

    test("a publisher's media reaches its subscriber", async () => {
      const pubEp = await Endpoint.open(p.spare[10]!);
      const c = await Endpoint.open(p.spare[12]!);
      try {
        const callId = `pub-${dataplane}`;
        const r = await ok(p, {
          command: 'publish',
          'call-id': callId,
          'from-tag': 'P',
          sdp: sdp(pubEp.port, '0 8 101', 'sendonly'),
        });
        const toUs = sdpPorts(String(r.sdp)).rtp;
        const s = await ok(p, {
          command: 'subscribe request',
          'call-id': callId,
          'from-tag': 'P',
          'to-tag': 'C',
        });
        assert.match(String(s.sdp), /^m=audio \d+ RTP\/AVP 0\r$/m);
        await ok(p, {
          command: 'subscribe answer',
          'call-id': callId,
          'to-tag': 'C',
          sdp: sdp(c.port, '0', 'recvonly'),
        });
        const k = rtp(0, 1, 160, 0xc0c0c0c0, Buffer.alloc(160, 0x7e));
        pubEp.send(k, toUs);
        assert.deepEqual((await c.next()).msg, k);
        await ok(p, { command: 'delete', 'call-id': callId });
      } finally {
        pubEp.close();
        c.close();
      }
    });
  });
}
