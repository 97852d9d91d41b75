/**
 * NgClient against Debian's real rtpengine 10.5 daemon over UDP, TCP, WebSocket and HTTP: the common
 * commands, plus the media commands 10.5 implements.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { NgClient } from '../../src/client/client.js';
import { NgError } from '../../src/client/errors.js';
import {
  haveRtpengine,
  MISSING_RTPENGINE,
  type RunningRtpengine,
  startRtpengine,
} from './helpers-rtpengine.js';

const skip = haveRtpengine() ? false : MISSING_RTPENGINE;
if (skip) console.log(skip);

export function sdpAt(port: number, extra = ''): string {
  return (
    'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n' +
    `m=audio ${port} RTP/AVP 8 101\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\n${extra}`
  );
}

describe('NgClient against rtpengine', { skip }, () => {
  let rtpe: RunningRtpengine;
  let ng: NgClient;
  before(async () => {
    rtpe = await startRtpengine();
    ng = new NgClient(`udp://127.0.0.1:${rtpe.ngPort}`, { timeoutMs: 3000 });
  });
  after(async () => {
    ng?.close();
    await rtpe?.stop();
  });

  test('ping', async () => {
    assert.equal((await ng.ping()).result, 'pong');
  });

  test('offer, answer, query, list, block/unblock DTMF, statistics, delete', async () => {
    const callId = 'rtpe-call-1';
    const offer = await ng.offer({
      callId,
      fromTag: 'caller',
      sdp: sdpAt(rtpe.spare[0]!),
      receivedFrom: '127.0.0.1',
      flags: ['trust address'],
      replace: ['origin', 'session-connection'],
      ice: 'remove',
      transportProtocol: 'RTP/AVP',
    });
    const offerPort = Number(/m=audio (\d+)/.exec(offer.sdp)?.[1]);
    assert.ok(offerPort > 0 && offerPort !== rtpe.spare[0], 'the proxy put its own port in the SDP');
    const answer = await ng.answer({
      callId,
      fromTag: 'caller',
      toTag: 'callee',
      sdp: sdpAt(rtpe.spare[2]!),
    });
    assert.match(answer.sdp, /m=audio \d+ RTP\/AVP 8 101/);

    const q = await ng.query({ callId });
    assert.deepEqual(Object.keys(q.tags).sort(), ['callee', 'caller']);
    const callerMedia = q.tags.caller?.medias[0];
    assert.equal(callerMedia?.type, 'audio');
    assert.equal(typeof q.totals.RTP.packets, 'number');
    assert.equal(typeof q['last signal'], 'number');
    // The stream towards the callee sends to the callee's advertised port.
    const ports = Object.values(q.tags).flatMap((t) =>
      t.medias.flatMap((m) => m.streams.map((s) => s.endpoint?.port)),
    );
    assert.ok(ports.includes(rtpe.spare[2]!));

    assert.ok((await ng.list()).calls.includes(callId));
    assert.equal((await ng.blockDTMF({ callId, fromTag: 'caller' })).result, 'ok');
    assert.equal((await ng.unblockDTMF({ callId, fromTag: 'caller' })).result, 'ok');
    const stats = await ng.statistics();
    assert.ok(Number(stats.statistics.currentstatistics?.sessionsown) >= 1);

    const del = await ng.delete({ callId, fromTag: 'caller' });
    assert.equal(del.result, 'ok');
    assert.ok(del.tags, 'delete returns the final call state');
    assert.ok(!(await ng.list()).calls.includes(callId));
  });

  test('errors and warnings from rtpengine', async () => {
    await assert.rejects(ng.query({ callId: 'no-such-call' }), (e: unknown) => {
      assert.ok(e instanceof NgError);
      assert.match(e.errorReason, /Unknown call-id/i);
      return true;
    });
    const del = await ng.delete({ callId: 'no-such-call' });
    assert.match(String(del.warning), /not found/);
    await assert.rejects(ng.request('no such command'), NgError);
  });

  test('media commands rtpengine 10.5 implements', async () => {
    const callId = 'rtpe-call-2';
    await ng.offer({ callId, fromTag: 'a', sdp: sdpAt(rtpe.spare[4]!), flags: ['inject DTMF'] });
    await ng.answer({ callId, fromTag: 'a', toTag: 'b', sdp: sdpAt(rtpe.spare[6]!), flags: ['inject DTMF'] });
    for (const r of [
      await ng.blockMedia({ callId, fromTag: 'a' }),
      await ng.unblockMedia({ callId, fromTag: 'a' }),
      await ng.silenceMedia({ callId, fromTag: 'a' }),
      await ng.unsilenceMedia({ callId, fromTag: 'a' }),
      await ng.startRecording({ callId }),
      await ng.stopRecording({ callId }),
      await ng.startForwarding({ callId }),
      await ng.stopForwarding({ callId }),
    ]) {
      assert.equal(r.result, 'ok');
    }
    // No such file: rtpengine refuses, and the refusal arrives as an NgError.
    await assert.rejects(ng.stopMedia({ callId, fromTag: 'a' }), /Not currently playing/);
    await assert.rejects(ng.playMedia({ callId, fromTag: 'a', file: '/nonexistent/prompt.wav' }), NgError);
    await ng.delete({ callId });
  });

  test('publish, subscribe request/answer, unsubscribe', async () => {
    const callId = 'rtpe-pubsub';
    const pub = await ng.publish({ callId, fromTag: 'pub', sdp: sdpAt(rtpe.spare[8]!, 'a=sendonly\r\n') });
    assert.match(pub.sdp, /a=recvonly/);
    const sub = await ng.subscribeRequest({ callId, fromTag: 'pub' });
    assert.match(sub.sdp, /a=sendonly/);
    assert.ok(sub['to-tag']);
    const subSdp = sdpAt(rtpe.spare[10]!, 'a=recvonly\r\n');
    assert.equal((await ng.subscribeAnswer({ callId, toTag: sub['to-tag'], sdp: subSdp })).result, 'ok');
    assert.equal((await ng.unsubscribe({ callId, toTag: sub['to-tag'] })).result, 'ok');
    await ng.delete({ callId });
  });

  for (const kind of ['tcp', 'ws', 'http'] as const) {
    test(`${kind} transport: ping, offer, query, delete`, async () => {
      const uri =
        kind === 'tcp'
          ? `tcp://127.0.0.1:${rtpe.tcpNgPort}`
          : kind === 'ws'
            ? `ws://127.0.0.1:${rtpe.httpPort}/`
            : `http://127.0.0.1:${rtpe.httpPort}/ng`;
      const c = new NgClient(uri, { timeoutMs: 3000 });
      try {
        assert.equal((await c.ping()).result, 'pong');
        const callId = `rtpe-${kind}`;
        // Concurrent requests share one connection and are matched by cookie.
        const [o, p] = await Promise.all([
          c.offer({ callId, fromTag: 'a', sdp: sdpAt(rtpe.spare[20]!) }),
          c.ping(),
        ]);
        assert.match(o.sdp, /m=audio \d+/);
        assert.equal(p.result, 'pong');
        assert.ok((await c.query({ callId })).tags.a);
        assert.equal((await c.delete({ callId })).result, 'ok');
        await assert.rejects(c.query({ callId }), NgError);
      } finally {
        c.close();
      }
    });
  }
});
