/**
 * Realistic SDPs (WebRTC, SDES-SRTP, T.38, IPv6, odd but legal shapes, real Kamailio captures): byte-exact
 * round trips, agreement with sdp-transform on what the lines mean, and mutation fuzzing.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import * as sdpTransform from 'sdp-transform';
import { Sdp, SdpError, iceAttributeNames } from '../../src/wire/sdp.js';
import { parseNgMessage } from '../../src/wire/ng-message.js';
import { captures, haveCaptures } from '../helpers/captures.js';

const crlf = (lines: string[]) => lines.map((l) => `${l}\r\n`).join('');

const WEBRTC = crlf([
  'v=0',
  'o=- 4611731400430051336 2 IN IP4 127.0.0.1',
  's=-',
  't=0 0',
  'a=group:BUNDLE 0 1 2',
  'a=extmap-allow-mixed',
  'a=msid-semantic: WMS stream1',
  'm=audio 54400 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126',
  'c=IN IP4 198.51.100.7',
  'a=rtcp:9 IN IP4 0.0.0.0',
  'a=candidate:842163049 1 udp 1677729535 198.51.100.7 54400 typ srflx raddr 10.0.0.5 rport 54400 generation 0 network-cost 999',
  'a=candidate:1467250027 1 udp 2122260223 10.0.0.5 54400 typ host generation 0',
  'a=candidate:1467250027 1 tcp 1518280447 10.0.0.5 9 typ host tcptype active generation 0',
  'a=end-of-candidates',
  'a=ice-ufrag:EsAw',
  'a=ice-pwd:P2uYro0UCOQ4zxjKXaWCBui1',
  'a=ice-options:trickle',
  'a=fingerprint:sha-256 D1:2C:BE:AD:C4:F6:64:5C:25:16:11:9C:AF:E7:0F:73:79:36:4E:9C:1E:15:54:39:0C:06:8B:ED:96:86:00:39',
  'a=setup:actpass',
  'a=mid:0',
  'a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level',
  'a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time',
  'a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01',
  'a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid',
  'a=sendrecv',
  'a=msid:stream1 track1',
  'a=rtcp-mux',
  'a=rtpmap:111 opus/48000/2',
  'a=rtcp-fb:111 transport-cc',
  'a=fmtp:111 minptime=10;useinbandfec=1',
  'a=rtpmap:63 red/48000/2',
  'a=fmtp:63 111/111',
  'a=rtpmap:9 G722/8000',
  'a=rtpmap:0 PCMU/8000',
  'a=rtpmap:8 PCMA/8000',
  'a=rtpmap:13 CN/8000',
  'a=rtpmap:110 telephone-event/48000',
  'a=rtpmap:126 telephone-event/8000',
  'a=ssrc:1001 cname:4TOk42mSjXCkVIa6',
  'a=ssrc:1001 msid:stream1 track1',
  'm=video 54400 UDP/TLS/RTP/SAVPF 96 97 102 103',
  'c=IN IP4 198.51.100.7',
  'a=rtcp:9 IN IP4 0.0.0.0',
  'a=ice-ufrag:EsAw',
  'a=ice-pwd:P2uYro0UCOQ4zxjKXaWCBui1',
  'a=ice-options:trickle',
  'a=fingerprint:sha-256 D1:2C:BE:AD:C4:F6:64:5C:25:16:11:9C:AF:E7:0F:73:79:36:4E:9C:1E:15:54:39:0C:06:8B:ED:96:86:00:39',
  'a=setup:actpass',
  'a=mid:1',
  'a=extmap:14 urn:ietf:params:rtp-hdrext:toffset',
  'a=sendrecv',
  'a=rtcp-mux',
  'a=rtcp-rsize',
  'a=rtpmap:96 VP8/90000',
  'a=rtcp-fb:96 goog-remb',
  'a=rtcp-fb:96 ccm fir',
  'a=rtcp-fb:96 nack',
  'a=rtcp-fb:96 nack pli',
  'a=rtpmap:97 rtx/90000',
  'a=fmtp:97 apt=96',
  'a=rtpmap:102 H264/90000',
  'a=rtcp-fb:* transport-cc',
  'a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f',
  'a=rtpmap:103 rtx/90000',
  'a=fmtp:103 apt=102',
  'a=ssrc-group:FID 2001 2002',
  'a=ssrc:2001 cname:4TOk42mSjXCkVIa6',
  'a=ssrc:2002 cname:4TOk42mSjXCkVIa6',
  'm=application 54400 UDP/DTLS/SCTP webrtc-datachannel',
  'c=IN IP4 198.51.100.7',
  'a=ice-ufrag:EsAw',
  'a=ice-pwd:P2uYro0UCOQ4zxjKXaWCBui1',
  'a=fingerprint:sha-256 D1:2C:BE:AD:C4:F6:64:5C:25:16:11:9C:AF:E7:0F:73:79:36:4E:9C:1E:15:54:39:0C:06:8B:ED:96:86:00:39',
  'a=setup:actpass',
  'a=mid:2',
  'a=sctp-port:5000',
  'a=max-message-size:262144',
]);

const SDES = crlf([
  'v=0',
  'o=alice 2890844526 2890844527 IN IP4 192.0.2.10',
  's=SRTP call',
  'c=IN IP4 192.0.2.10',
  't=0 0',
  'm=audio 49170 RTP/SAVP 0 8 101',
  'a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|1:32',
  'a=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:NzB4d1BINUAvLEw6UzF3WSJ+PSdFcGdUJShpX1Zj|2^20|1:32',
  'a=rtcp:49171 IN IP4 192.0.2.10',
  'a=rtpmap:0 PCMU/8000',
  'a=rtpmap:8 PCMA/8000',
  'a=rtpmap:101 telephone-event/8000',
  'a=fmtp:101 0-16',
  'a=ptime:20',
  'a=maxptime:150',
  'a=sendrecv',
]);

const T38 = crlf([
  'v=0',
  'o=FreeSWITCH 1700000000 1700000002 IN IP4 203.0.113.20',
  's=FreeSWITCH',
  'c=IN IP4 203.0.113.20',
  't=0 0',
  'm=audio 0 RTP/AVP 8',
  'a=rtpmap:8 PCMA/8000',
  'm=video 0 RTP/AVP 31',
  'm=image 31500 udptl t38',
  'a=T38FaxVersion:0',
  'a=T38MaxBitRate:14400',
  'a=T38FaxFillBitRemoval',
  'a=T38FaxRateManagement:transferredTCF',
  'a=T38FaxMaxBuffer:2000',
  'a=T38FaxMaxDatagram:400',
  'a=T38FaxUdpEC:t38UDPRedundancy',
]);

const IPV6_SESSION_C = crlf([
  'v=0',
  'o=bob 2808844564 2808844564 IN IP6 2001:db8::1',
  's=-',
  'c=IN IP6 2001:db8::1',
  'b=AS:84',
  't=0 0',
  'a=recvonly',
  'm=audio 50000 RTP/AVP 9 101',
  'b=TIAS:64000',
  'a=rtpmap:9 G722/8000',
  'a=rtpmap:101 telephone-event/8000',
  'a=rtcp:50001 IN IP6 2001:db8::1',
]);

const MEDIA_C_ONLY = crlf([
  'v=0',
  'o=- 1 1 IN IP4 10.1.1.1',
  's=Media level only',
  'i=A session with i=, u=, e=, p=, k= and unknown attributes',
  'u=http://example.com/session',
  'e=ops@example.com',
  'p=+1 617 555-6011',
  't=2873397496 2873404696',
  'r=7d 1h 0 25h',
  'z=2882844526 -1h 2898848070 0',
  'a=tool:sipmedia-test 1.0',
  'a=X-vendor-thing:foo=bar; baz',
  'm=audio 1234/2 RTP/AVP 0',
  'i=stereo pair of ports',
  'c=IN IP4 10.1.1.2',
  'b=AS:64',
  'b=RR:0',
  'k=prompt',
  'a=rtpmap:0 PCMU/8000',
  'a=ptime:30',
  'a=silenceSupp:off - - - -',
  'a=x-unknown',
  'm=video 5000 RTP/AVP 34',
  'c=IN IP4 224.2.17.12/127',
  'a=rtpmap:34 H263/90000',
  'a=inactive',
]);

const HOLD = crlf([
  'v=0',
  'o=user1 53655765 2353687638 IN IP4 192.0.2.55',
  's=-',
  'c=IN IP4 0.0.0.0',
  't=0 0',
  'm=audio 6000 RTP/AVP 18 101',
  'a=rtpmap:18 G729/8000',
  'a=fmtp:18 annexb=no',
  'a=rtpmap:101 telephone-event/8000',
  'a=sendonly',
]);

function captureSdps(): { name: string; sdp: string }[] {
  if (!haveCaptures()) return [];
  const out: { name: string; sdp: string }[] = [];
  for (const pass of ['ng-default', 'ng-flags']) {
    for (const c of captures(pass)) {
      const sdp = parseNgMessage(c.bytes).body.sdp;
      if (sdp !== undefined) out.push({ name: `${pass}/${c.name}`, sdp: sdp.toString() });
    }
  }
  return out;
}

const CORPUS: { name: string; sdp: string }[] = [
  { name: 'webrtc', sdp: WEBRTC },
  { name: 'sdes', sdp: SDES },
  { name: 't38', sdp: T38 },
  { name: 'ipv6-session-c', sdp: IPV6_SESSION_C },
  { name: 'media-c-only', sdp: MEDIA_C_ONLY },
  { name: 'hold', sdp: HOLD },
  ...captureSdps(),
];

test('the capture corpus is present', (t) => {
  if (!haveCaptures()) t.skip('MISSING PEER: ../shared/reference/kamailio-captures not found');
  else assert.ok(CORPUS.length >= 6 + 8, `found ${CORPUS.length - 6} capture SDPs`);
});

test('every corpus SDP round-trips byte for byte', () => {
  for (const { name, sdp } of CORPUS) {
    assert.equal(Sdp.parse(sdp).toString(), sdp, name);
    assert.equal(Sdp.parse(sdp).clone().toString(), sdp, name);
    // LF-only and no final line end parse to the same CRLF text.
    assert.equal(Sdp.parse(sdp.replaceAll('\r\n', '\n')).toString(), sdp, name);
    assert.equal(Sdp.parse(sdp.slice(0, -2)).toString(), sdp, name);
  }
});

test('parsed meaning agrees with sdp-transform', () => {
  for (const { name, sdp } of CORPUS) {
    const ours = Sdp.parse(sdp);
    const theirs = sdpTransform.parse(sdp);
    assert.equal(ours.media.length, theirs.media.length, name);
    assert.equal(ours.origin?.username, theirs.origin?.username, name);
    assert.equal(ours.origin?.sessVersion, String(theirs.origin?.sessionVersion), name);
    assert.equal(ours.origin?.address, theirs.origin?.address, name);
    assert.equal(ours.session.connection?.address, theirs.connection?.ip, name);
    ours.media.forEach((m, i) => {
      const tm = theirs.media[i]!;
      const where = `${name} m#${i}`;
      // sdp-transform 3 does not know the `port/count` form and leaves such an m= line unparsed.
      if (m.portCount === undefined) {
        assert.equal(m.kind, tm.type, where);
        assert.equal(m.port, tm.port, where);
        assert.equal(m.proto, tm.protocol, where);
        assert.equal(m.formats.join(' '), String(tm.payloads ?? ''), where);
      } else assert.equal(tm.type, undefined, 'sdp-transform learnt port counts: compare them too');
      assert.equal(m.connection?.address, tm.connection?.ip, where);
      assert.equal(
        m.connection?.addrType.slice(-1),
        tm.connection ? String(tm.connection.version) : undefined,
      );
      assert.equal(m.rtcp?.port, tm.rtcp?.port, where);
      assert.equal(m.rtcp?.connection?.address, tm.rtcp?.address, where);
      assert.equal(m.rtcpMux, tm.rtcpMux !== undefined, where);
      assert.equal(m.mid, tm.mid === undefined ? undefined : String(tm.mid), where);
      assert.equal(m.ptime, tm.ptime, where);
      assert.equal(m.direction, tm.direction, where);
      const maps = m.rtpmaps();
      assert.equal(maps.size, tm.rtp.length, where);
      for (const r of tm.rtp) {
        assert.deepEqual(
          maps.get(r.payload),
          { encoding: r.codec, clockRate: r.rate, ...(r.encoding ? { channels: Number(r.encoding) } : {}) },
          `${where} pt ${r.payload}`,
        );
      }
      for (const f of tm.fmtp) assert.equal(m.fmtp(f.payload), f.config, `${where} fmtp ${f.payload}`);
      assert.equal(m.attrs('candidate').length, tm.candidates?.length ?? 0, where);
    });
  }
});

test('stripping ICE from the WebRTC offer leaves every other line in place', () => {
  const sdp = Sdp.parse(WEBRTC);
  let removed = 0;
  for (const m of sdp.media) removed += m.removeAttrs((n) => iceAttributeNames.has(n));
  assert.equal(removed, 3 + 1 + 3 * 2 + 2);
  const expected = WEBRTC.split('\r\n')
    .filter((l) => !/^a=(candidate|end-of-candidates|ice-ufrag|ice-pwd|ice-options):?/.test(l))
    .join('\r\n');
  assert.equal(sdp.toString(), expected);
});

test('T.38 re-INVITE: rejected audio/video and the image section', () => {
  const sdp = Sdp.parse(T38);
  assert.deepEqual(
    sdp.media.map((m) => [m.kind, m.rejected, m.proto, m.formats]),
    [
      ['audio', true, 'RTP/AVP', ['8']],
      ['video', true, 'RTP/AVP', ['31']],
      ['image', false, 'udptl', ['t38']],
    ],
  );
  assert.equal(sdp.media[2]!.attr('T38FaxMaxDatagram'), '400');
  assert.equal(sdp.media[2]!.attr('T38FaxFillBitRemoval'), '');
  assert.equal(sdp.media[2]!.rtpmaps().size, 0);
});

test('multicast and port-count forms', () => {
  const sdp = Sdp.parse(MEDIA_C_ONLY);
  const [audio, video] = sdp.media as [
    NonNullable<(typeof sdp.media)[0]>,
    NonNullable<(typeof sdp.media)[0]>,
  ];
  assert.equal(sdp.session.connection, undefined);
  assert.equal(audio.port, 1234);
  assert.equal(audio.portCount, 2);
  assert.equal(audio.ptime, 30);
  assert.equal(video.connection?.address, '224.2.17.12/127');
  assert.equal(sdp.directionOf(video), 'inactive');
  assert.equal(sdp.directionOf(audio), 'sendrecv');
  assert.equal(audio.attr('silenceSupp'), 'off - - - -');
  assert.equal(sdp.session.attr('X-vendor-thing'), 'foo=bar; baz');
  audio.port = 40000;
  audio.portCount = undefined;
  assert.equal(sdp.toString(), MEDIA_C_ONLY.replace('m=audio 1234/2 RTP/AVP 0', 'm=audio 40000 RTP/AVP 0'));
});

test('IPv6: session c= applies, session direction inherited', () => {
  const sdp = Sdp.parse(IPV6_SESSION_C);
  const m = sdp.media[0]!;
  assert.equal(m.connection, undefined);
  assert.deepEqual(sdp.connectionOf(m), { netType: 'IN', addrType: 'IP6', address: '2001:db8::1' });
  assert.deepEqual(m.rtcp, {
    port: 50001,
    connection: { netType: 'IN', addrType: 'IP6', address: '2001:db8::1' },
  });
  assert.equal(sdp.directionOf(m), 'recvonly');
});

/** Mutations of real SDPs: drop, duplicate, swap, truncate lines, flip characters, splice junk. */
const mutation = fc.oneof(
  fc.record({ kind: fc.constant('drop' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('dup' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('swap' as const), at: fc.nat(), to: fc.nat() }),
  fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
  fc.record({
    kind: fc.constant('char' as const),
    at: fc.nat(),
    ch: fc.string({ minLength: 1, maxLength: 3 }),
  }),
  fc.record({
    kind: fc.constant('splice' as const),
    at: fc.nat(),
    text: fc.constantFrom(
      '\r\n',
      '\n\n',
      '\r',
      '\0',
      ' ',
      '=',
      ':',
      '/',
      'm=audio 99999 RTP/AVP 0\r\n',
      'm=audio 1/0 x\r\n',
      'c=IN IP4\r\n',
      'a=rtcp:70000\r\n',
      'a=rtpmap:300 X/0/0\r\n',
      'a=fmtp:\r\n',
      'o=\r\n',
      'v=1\r\n',
    ),
  }),
);

type Mutation = { kind: string; at: number; to?: number; ch?: string; text?: string };

function mutate(text: string, ms: readonly Mutation[]): string {
  let s = text;
  for (const m of ms) {
    const lines = s.split('\r\n');
    const i = m.at % Math.max(1, lines.length);
    switch (m.kind) {
      case 'drop':
        lines.splice(i, 1);
        s = lines.join('\r\n');
        break;
      case 'dup':
        lines.splice(i, 0, lines[i] ?? '');
        s = lines.join('\r\n');
        break;
      case 'swap': {
        const j = (m.to ?? 0) % Math.max(1, lines.length);
        [lines[i], lines[j]] = [lines[j] ?? '', lines[i] ?? ''];
        s = lines.join('\r\n');
        break;
      }
      case 'cut':
        s = s.slice(0, m.at % (s.length + 1));
        break;
      case 'char': {
        const p = m.at % (s.length + 1);
        s = s.slice(0, p) + (m.ch ?? '') + s.slice(p + 1);
        break;
      }
      case 'splice': {
        const p = m.at % (s.length + 1);
        s = s.slice(0, p) + (m.text ?? '') + s.slice(p);
        break;
      }
    }
  }
  return s;
}

/** Everything a caller might read; none of it may throw on a parsed SDP. */
function touchAll(sdp: Sdp): void {
  void sdp.origin;
  void sdp.session.connection;
  void sdp.session.direction;
  for (const m of sdp.media) {
    void [m.kind, m.port, m.portCount, m.proto, m.formats, m.rejected, m.rtcp, m.rtcpMux, m.mid, m.ptime];
    void [m.connection, m.direction, sdp.connectionOf(m), sdp.directionOf(m)];
    for (const pt of m.rtpmaps().keys()) m.fmtp(pt);
  }
}

test('mutated real SDPs either parse (and round-trip) or throw SdpError', () => {
  const bases = CORPUS.map((c) => c.sdp);
  fc.assert(
    fc.property(fc.constantFrom(...bases), fc.array(mutation, { minLength: 1, maxLength: 6 }), (base, ms) => {
      const text = mutate(base, ms);
      let sdp: Sdp;
      try {
        sdp = Sdp.parse(text);
      } catch (e) {
        if (e instanceof SdpError) return;
        throw e;
      }
      touchAll(sdp);
      const out = sdp.toString();
      assert.equal(Sdp.parse(out).toString(), out);
      // Canonical input (CRLF lines, no trailing blank line) must come back unchanged.
      if (/^(?:[^\r\n]*\r\n)+$/.test(text) && !text.endsWith('\r\n\r\n')) assert.equal(out, text);
    }),
    { numRuns: 1500, seed: 4566 },
  );
});
