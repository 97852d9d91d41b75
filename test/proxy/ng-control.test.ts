import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { randomBytes } from 'node:crypto';
import { formatNgMessage, parseNgMessage } from '../../src/wire/ng-message.js';
import { audioSdp } from '../helpers/endpoint.js';
import { ngTcp } from '../helpers/ng.js';
import { type RunningProxy, startProxy } from '../helpers/proxy.js';
import { setupCall } from './call-setup.js';

let p: RunningProxy;
before(async () => {
  p = await startProxy(['--delete-delay=0']);
});
after(() => p.stop());

test('offer, answer, query, list, statistics and delete over UDP', async () => {
  const c = await setupCall(p);
  try {
    assert.match(String(c.offer.sdp), /^c=IN IP4 127\.0\.0\.1\r$/m);
    const port = c.toProxyFromB.rtp;
    assert.ok(port >= p.portMin && port <= p.portMax, 'the offer carries a port from our range');
    const q = await p.ng.request({ command: 'query', 'call-id': c.callId });
    assert.equal(q.result, 'ok');
    const tags = q.tags as Record<string, { medias: { streams: { 'local port': number }[] }[] }>;
    assert.deepEqual(Object.keys(tags).sort(), ['tagA', 'tagB']);
    assert.equal(tags.tagB!.medias[0]!.streams[0]!['local port'], port, 'B-facing stream listed under B');
    const l = await p.ng.request({ command: 'list', limit: 1000 });
    assert.ok((l.calls as string[]).includes(c.callId));
    const s = await p.ng.request({ command: 'statistics' });
    const st = s.statistics as { currentstatistics: { sessionsown: number } };
    assert.ok(st.currentstatistics.sessionsown >= 1);
    const d = await p.ng.request({ command: 'delete', 'call-id': c.callId, 'from-tag': 'tagA' });
    assert.equal(d.result, 'ok');
    const q2 = await p.ng.request({ command: 'query', 'call-id': c.callId });
    assert.equal(q2.result, 'error');
  } finally {
    c.close();
  }
});

test('TCP: several messages in one segment, each answered with its cookie', async () => {
  const [pong, list] = await ngTcp(p.tcpNgPort, [{ command: 'ping' }, { command: 'list' }]);
  assert.equal(pong!.result, 'pong');
  assert.equal(list!.result, 'ok');
});

test('TCP: offer and query on one connection', async () => {
  const sdp = audioSdp('127.0.0.1', p.spare[70]!);
  const [o, q] = await ngTcp(p.tcpNgPort, [
    { command: 'offer', 'call-id': 'tcp-call', 'from-tag': 'x', sdp },
    { command: 'query', 'call-id': 'tcp-call' },
  ]);
  assert.equal(o!.result, 'ok');
  assert.equal(q!.result, 'ok');
  await p.ng.request({ command: 'delete', 'call-id': 'tcp-call' });
});

test('JSON bodies are answered in JSON', async () => {
  const reply = await p.ng.raw(Buffer.from('j1 {"command":"ping"}'));
  assert.equal(reply.toString(), 'j1 {"result":"pong"}');
});

test('a retransmitted request is answered from the cache and executed once', async () => {
  const sdp = audioSdp('127.0.0.1', p.spare[71]!);
  const before = await p.ng.request({ command: 'statistics' });
  const count = (s: typeof before) =>
    ((s.statistics as { controlstatistics: Record<string, number> }).controlstatistics.totaloffercount ??
      0) as number;
  const req = formatNgMessage('retrans-1', { command: 'offer', 'call-id': 'rt-call', 'from-tag': 'x', sdp });
  // The same datagram from the same socket three times, as Kamailio retransmits it.
  const replies = await p.ng.rawRepeated(req, 3);
  assert.equal(replies.length, 3);
  assert.deepEqual(replies[1], replies[0]);
  assert.deepEqual(replies[2], replies[0]);
  assert.equal(parseNgMessage(replies[0]!).cookie, 'retrans-1');
  const after = await p.ng.request({ command: 'statistics' });
  assert.equal(count(after) - count(before), 1, 'executed once');
  await p.ng.request({ command: 'delete', 'call-id': 'rt-call' });
});

const badCases: [string, Buffer, RegExp][] = [
  ['truncated bencode', Buffer.from('c1 d7:command4:pi'), /decode/i],
  ['a list instead of a dictionary', Buffer.from('c2 l4:pinge'), /not a dictionary/],
  ['an integer body', Buffer.from('c3 i5e'), /not a dictionary/],
  [
    'missing call-id',
    formatNgMessage('c4', { command: 'offer', 'from-tag': 'a', sdp: 'v=0\r\n' }),
    /call-id/,
  ],
  [
    'missing from-tag',
    formatNgMessage('c5', { command: 'offer', 'call-id': 'z', sdp: 'v=0\r\n' }),
    /from-tag/,
  ],
  ['missing sdp', formatNgMessage('c6', { command: 'offer', 'call-id': 'z', 'from-tag': 'a' }), /SDP/],
  [
    'missing to-tag in answer',
    formatNgMessage('c6b', { command: 'answer', 'call-id': 'z', 'from-tag': 'a', sdp: 'v=0' }),
    /to-tag/,
  ],
  ['unknown command', formatNgMessage('c7', { command: 'frobnicate' }), /Unrecognized command/],
  ['no command', formatNgMessage('c8', { 'call-id': 'x' }), /No command/],
  [
    'an SDP that is not SDP',
    formatNgMessage('c9', { command: 'offer', 'call-id': 'z', 'from-tag': 'a', sdp: 'hello world' }),
    /SDP/,
  ],
  [
    'a list where a string belongs',
    formatNgMessage('c10', { command: 'query', 'call-id': ['x'] }),
    /call id/,
  ],
  ['bad JSON', Buffer.from('c11 {"command":'), /JSON/],
  [
    'a command not implemented yet',
    formatNgMessage('c12', { command: 'connect', 'call-id': 'x' }),
    /not supported yet/,
  ],
  [
    'an invalid address family',
    formatNgMessage('c13', {
      command: 'offer',
      'call-id': 'z',
      'from-tag': 'a',
      sdp: audioSdp('127.0.0.1', 4000),
      'address family': 'IPX',
    }),
    /address family/,
  ],
];

test('bad input gets result error with a clear reason; the proxy keeps serving and keeps its calls', async () => {
  const c = await setupCall(p);
  try {
    for (const [name, bytes, reason] of badCases) {
      const r = parseNgMessage(await p.ng.raw(bytes));
      assert.equal(r.body.result, 'error', name);
      assert.match(String(r.body['error-reason']), reason, name);
    }
    // 64 KiB of garbage with a cookie: an error; without a cookie: no reply possible, but no harm.
    const garbage = Buffer.concat([Buffer.from('g1 '), randomBytes(64 * 1024 - 100)]);
    garbage[3] = 0x64; // 'd': looks like a dictionary, then nonsense
    const r = parseNgMessage(await p.ng.raw(garbage));
    assert.equal(r.body.result, 'error');
    p.ng.sendRaw(randomBytes(64 * 1024 - 100));
    assert.equal((await p.ng.request({ command: 'ping' })).result, 'pong');
    const q = await p.ng.request({ command: 'query', 'call-id': c.callId });
    assert.equal(q.result, 'ok', 'the call set up before is still there');
  } finally {
    c.close();
  }
});

test('unsupported options are accepted and reported in warning', async () => {
  const r = await p.ng.request({
    command: 'offer',
    'call-id': 'warn-call',
    'from-tag': 'a',
    sdp: audioSdp('127.0.0.1', p.spare[72]!),
    flags: ['trust-address', 'frobnicate'],
    ICE: 'force',
  });
  assert.equal(r.result, 'ok');
  assert.match(String(r.warning), /frobnicate/);
  assert.match(String(r.warning), /ICE=force: ICE is offered to WebRTC \(DTLS\) recipients only/);
  await p.ng.request({ command: 'delete', 'call-id': 'warn-call' });
});

test('options as one rtpp-flags string (newer Kamailio) act as the same dictionary keys', async () => {
  const offer = (callId: string, port: number, options: Record<string, unknown>) =>
    p.ng.request({
      command: 'offer',
      'call-id': callId,
      'from-tag': 'a',
      sdp:
        `v=0\r\no=x 1 1 IN IP4 192.0.2.9\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio ${port} RTP/AVP 0 8\r\n` +
        'a=ice-ufrag:abcd\r\na=ice-pwd:0123456789abcdef012345\r\n',
      ...options,
    });
  const asString = await offer('rtpp-1', p.spare[60]!, {
    'rtpp-flags': 'replace-origin codec=[strip=[PCMA]] ICE=remove label=caller',
  });
  const asKeys = await offer('rtpp-2', p.spare[61]!, {
    flags: ['replace-origin'],
    codec: { strip: ['PCMA'] },
    ICE: 'remove',
    label: 'caller',
  });
  assert.equal(asString.result, 'ok', String(asString['error-reason']));
  assert.equal(asString.warning, undefined);
  const portless = (x: unknown) => String(x).replace(/\b\d{4,5}\b/g, 'PORT');
  assert.equal(portless(asString.sdp), portless(asKeys.sdp));
  assert.match(String(asString.sdp), /^m=audio \d+ RTP\/AVP 0\r$/m);
  assert.doesNotMatch(String(asString.sdp), /192\.0\.2\.9|ice-ufrag/);
  const q = await p.ng.request({ command: 'query', 'call-id': 'rtpp-1' });
  assert.equal((q.tags as Record<string, { label?: string }>).a!.label, 'caller');
  const bad = await offer('rtpp-3', p.spare[62]!, { 'rtpp-flags': 'codec=[strip=[PCMA]' });
  assert.equal(bad.result, 'error');
  assert.match(String(bad['error-reason']), /rtpp-flags/);
  for (const id of ['rtpp-1', 'rtpp-2']) await p.ng.request({ command: 'delete', 'call-id': id });
});

test('codec strip, mask and except edit the SDP; transcoding options are a warning', async () => {
  const sdp = (port: number) =>
    `v=0\r\no=x 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio ${port} RTP/AVP 0 8 9 101\r\n` +
    'a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\n';
  const o1 = await p.ng.request({
    command: 'offer',
    'call-id': 'codec-1',
    'from-tag': 'a',
    sdp: sdp(p.spare[73]!),
    codec: { strip: ['PCMA', 'telephone-event'], transcode: ['opus'] },
  });
  assert.match(String(o1.sdp), /^m=audio \d+ RTP\/AVP 0 9\r$/m);
  assert.doesNotMatch(String(o1.sdp), /telephone-event|fmtp:101/);
  assert.match(String(o1.warning), /transcod/);
  const a1 = await p.ng.request({
    command: 'answer',
    'call-id': 'codec-1',
    'from-tag': 'a',
    'to-tag': 'b',
    sdp: sdp(p.spare[74]!),
  });
  assert.match(
    String(a1.sdp),
    /^m=audio \d+ RTP\/AVP 0 9\r$/m,
    'what was stripped from the offer is not answered',
  );
  const o2 = await p.ng.request({
    command: 'offer',
    'call-id': 'codec-2',
    'from-tag': 'a',
    sdp: sdp(p.spare[75]!),
    flags: ['codec-strip-all', 'codec-except-PCMU'],
  });
  assert.match(String(o2.sdp), /^m=audio \d+ RTP\/AVP 0\r$/m);
  const o3 = await p.ng.request({
    command: 'offer',
    'call-id': 'codec-3',
    'from-tag': 'a',
    sdp: sdp(p.spare[76]!),
    codec: { strip: ['all'] },
  });
  assert.match(String(o3.sdp), /^m=audio \d+ RTP\/AVP 0 8 9 101\r$/m, 'never strips every codec');
  assert.match(String(o3.warning), /every codec/);
  for (const id of ['codec-1', 'codec-2', 'codec-3'])
    await p.ng.request({ command: 'delete', 'call-id': id });
});
