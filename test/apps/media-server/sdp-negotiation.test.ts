import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  answerOffer,
  buildAnswer,
  buildOffer,
  NegotiationError,
  parseSdpBody,
  readAnswer,
} from '../../../src/apps/media-server/sdp-negotiation.js';
import { Sdp } from '../../../src/wire/sdp.js';

const offer = (m: string, extra: string[] = [], c = 'c=IN IP4 10.0.0.5'): Sdp =>
  Sdp.parse(['v=0', 'o=- 1 1 IN IP4 10.0.0.5', 's=-', c, 't=0 0', m, ...extra, ''].join('\r\n'));

test('the offerer order picks the codec; telephone-event and ptime are taken', () => {
  const oa = answerOffer(
    offer('m=audio 4000 RTP/AVP 8 0 101', ['a=rtpmap:101 telephone-event/8000', 'a=ptime:30', 'a=sendrecv']),
  );
  assert.deepEqual(oa.audio, {
    codec: 'PCMA',
    payloadType: 8,
    telephoneEvent: 101,
    ptime: 30,
    remote: { address: '10.0.0.5', port: 4000 },
    direction: 'sendrecv',
  });
  const text = buildAnswer(oa, { address: '127.0.0.1', port: 30000 }, { sessionId: '7', version: 1 });
  const ans = Sdp.parse(text);
  assert.equal(ans.media[0]!.port, 30000);
  assert.deepEqual(ans.media[0]!.formats, ['8', '101']);
  assert.equal(ans.media[0]!.ptime, 30);
  assert.equal(ans.directionOf(ans.media[0]!), 'sendrecv');
  assert.equal(ans.connectionOf(ans.media[0]!)?.address, '127.0.0.1');
});

test('dynamic payload types by rtpmap, default ptime 20, direction reversed, hold address', () => {
  const oa = answerOffer(
    offer('m=audio 4000 RTP/AVP 96', ['a=rtpmap:96 pcmu/8000', 'a=sendonly'], 'c=IN IP4 0.0.0.0'),
  );
  assert.equal(oa.audio.codec, 'PCMU');
  assert.equal(oa.audio.payloadType, 96);
  assert.equal(oa.audio.ptime, 20);
  assert.equal(oa.audio.direction, 'recvonly');
  assert.equal(oa.audio.remote, null);
  assert.equal(oa.audio.telephoneEvent, undefined);
});

test('other m= sections are refused with port 0, in place', () => {
  const sdp = Sdp.parse(
    [
      'v=0',
      'o=- 1 1 IN IP4 10.0.0.5',
      's=-',
      'c=IN IP4 10.0.0.5',
      't=0 0',
      'm=video 5000 RTP/AVP 96',
      'm=audio 4000 RTP/AVP 0',
      '',
    ].join('\r\n'),
  );
  const oa = answerOffer(sdp);
  assert.equal(oa.index, 1);
  const ans = Sdp.parse(
    buildAnswer(oa, { address: '127.0.0.1', port: 30000 }, { sessionId: '1', version: 1 }),
  );
  assert.equal(ans.media.length, 2);
  assert.equal(ans.media[0]!.port, 0);
  assert.equal(ans.media[0]!.kind, 'video');
  assert.equal(ans.media[1]!.port, 30000);
});

test('G.722 by static payload type or rtpmap (8000, or the 16000 some endpoints write); a policy may leave it out', () => {
  assert.equal(answerOffer(offer('m=audio 4000 RTP/AVP 9 0')).audio.codec, 'G722');
  const dyn = answerOffer(offer('m=audio 4000 RTP/AVP 97', ['a=rtpmap:97 G722/16000']));
  assert.deepEqual([dyn.audio.codec, dyn.audio.payloadType], ['G722', 97]);
  assert.equal(
    answerOffer(offer('m=audio 4000 RTP/AVP 9 0'), { codecs: ['PCMU', 'PCMA'], ptime: 20 }).audio.codec,
    'PCMU',
  );
  assert.throws(
    () => answerOffer(offer('m=audio 4000 RTP/AVP 9'), { codecs: ['PCMU', 'PCMA'], ptime: 20 }),
    (e) => e instanceof NegotiationError && e.status === 488,
  );
});

test('no G.711: 488; SAVP only: 488; garbage: 400', () => {
  assert.throws(
    () => answerOffer(offer('m=audio 4000 RTP/AVP 18')),
    (e) => e instanceof NegotiationError && e.status === 488,
  );
  assert.throws(
    () => answerOffer(offer('m=audio 4000 RTP/SAVP 0')),
    (e) => e instanceof NegotiationError && e.status === 488,
  );
  assert.throws(
    () => parseSdpBody('hello'),
    (e) => e instanceof NegotiationError && e.status === 400,
  );
  // A policy without PCMA refuses a PCMA-only offer.
  assert.throws(
    () => answerOffer(offer('m=audio 4000 RTP/AVP 8'), { codecs: ['PCMU'], ptime: 20 }),
    NegotiationError,
  );
});

test('our own offer and reading its answer (bridge leg, delayed offer)', () => {
  const text = buildOffer(
    { address: '127.0.0.1', port: 30002 },
    { sessionId: '1', version: 1 },
    ['PCMA', 'PCMU'],
    20,
  );
  const o = Sdp.parse(text);
  assert.deepEqual(o.media[0]!.formats, ['8', '0', '101']);
  const a = readAnswer(
    offer('m=audio 6000 RTP/AVP 0 101', ['a=rtpmap:101 telephone-event/8000']),
    ['PCMA', 'PCMU'],
    20,
  );
  assert.equal(a.codec, 'PCMU');
  assert.equal(a.telephoneEvent, 101);
  assert.deepEqual(a.remote, { address: '10.0.0.5', port: 6000 });
  assert.throws(() => readAnswer(offer('m=audio 0 RTP/AVP 0'), ['PCMU'], 20), NegotiationError);
});
