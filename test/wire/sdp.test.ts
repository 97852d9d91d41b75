import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { parseNgMessage } from '../../src/wire/ng-message.js';
import {
  MAX_SDP_BYTES,
  MAX_SDP_LINES,
  MAX_SDP_MEDIA,
  Sdp,
  SdpError,
  type SdpLine,
  SdpMedia,
  iceAttributeNames,
} from '../../src/wire/sdp.js';
import { captures, haveCaptures } from '../helpers/captures.js';

const crlf = (lines: string[]) => lines.map((l) => `${l}\r\n`).join('');

const BASIC = crlf([
  'v=0',
  'o=uac 53655765 2353687637 IN IP4 127.0.0.1',
  's=-',
  'c=IN IP4 127.0.0.1',
  't=0 0',
  'm=audio 6000 RTP/AVP 8 101',
  'a=rtpmap:8 PCMA/8000',
  'a=rtpmap:101 telephone-event/8000',
  'a=fmtp:101 0-15',
  'a=sendrecv',
]);

const isSdpError = (e: unknown) => e instanceof SdpError;

test('parses session and media sections and round-trips', () => {
  const sdp = Sdp.parse(BASIC);
  assert.equal(sdp.session.lines.length, 5);
  assert.deepEqual(sdp.session.lines[1], { type: 'o', value: 'uac 53655765 2353687637 IN IP4 127.0.0.1' });
  assert.equal(sdp.media.length, 1);
  const m = sdp.media[0]!;
  assert.deepEqual(m.lines[0], { type: 'm', value: 'audio 6000 RTP/AVP 8 101' });
  assert.equal(m.kind, 'audio');
  assert.equal(m.port, 6000);
  assert.equal(m.portCount, undefined);
  assert.equal(m.proto, 'RTP/AVP');
  assert.deepEqual(m.formats, ['8', '101']);
  assert.equal(m.rejected, false);
  assert.deepEqual(sdp.session.connection, { netType: 'IN', addrType: 'IP4', address: '127.0.0.1' });
  assert.equal(m.connection, undefined);
  assert.equal(sdp.connectionOf(m)?.address, '127.0.0.1');
  assert.equal(m.direction, 'sendrecv');
  assert.deepEqual(sdp.origin, {
    username: 'uac',
    sessId: '53655765',
    sessVersion: '2353687637',
    netType: 'IN',
    addrType: 'IP4',
    address: '127.0.0.1',
  });
  assert.equal(sdp.toString(), BASIC);
  assert.deepEqual(
    sdp.lines().map((l) => `${l.type}=${l.value}\r\n`),
    BASIC.split(/(?<=\r\n)/),
  );
});

test('tolerates LF line ends, a missing final line end and trailing blank lines; always emits CRLF', () => {
  const lf = BASIC.replaceAll('\r\n', '\n');
  assert.equal(Sdp.parse(lf).toString(), BASIC);
  assert.equal(Sdp.parse(lf.slice(0, -1)).toString(), BASIC);
  assert.equal(Sdp.parse(BASIC.slice(0, -2)).toString(), BASIC);
  assert.equal(Sdp.parse(`${BASIC}\r\n\r\n`).toString(), BASIC);
  assert.equal(Sdp.parse(BASIC.replace('\r\ns=-\r\n', '\ns=-\r\n')).toString(), BASIC);
});

test('refuses text that is not SDP', () => {
  const bad: [string, string][] = [
    ['', 'empty'],
    ['\r\n', 'blank'],
    ['hello', 'not x=value'],
    ['v=1\r\no=- 1 1 IN IP4 1.1.1.1\r\ns=-\r\n', 'wrong version'],
    ['o=- 1 1 IN IP4 1.1.1.1\r\nv=0\r\ns=-\r\n', 'v= not first'],
    [BASIC.replace(/o=.*\r\n/, ''), 'no o='],
    [BASIC.replace('s=-\r\n', ''), 'no s='],
    [BASIC.replace('s=-\r\n', 's=-\r\n\r\n'), 'blank line inside'],
    [BASIC.replace('t=0 0', 't 0 0'), 'missing ='],
    [BASIC.replace('t=0 0', 'tt=0 0'), 'two-letter type'],
    [BASIC.replace('t=0 0', '1=0 0'), 'non-letter type'],
    [BASIC.replace('t=0 0', ' t=0 0'), 'leading space'],
    [BASIC.replace('t=0 0', 't=0\r0'), 'bare CR inside a line'],
    [BASIC.replace('t=0 0', 't=0\x000'), 'NUL'],
    [BASIC.replace('IN IP4 127.0.0.1\r\nt', 'IN IP4\r\nt'), 'short c='],
    [BASIC.replace('uac 53655765', 'uac'), 'short o='],
    [BASIC.replace('audio 6000', 'audio 70000'), 'port out of range'],
    [BASIC.replace('audio 6000', 'audio x'), 'port not a number'],
    [BASIC.replace('audio 6000', 'audio 6000/0'), 'port count 0'],
    [BASIC.replace('audio 6000 RTP/AVP 8 101', 'audio 6000'), 'm= without proto'],
    [BASIC.replace('o=uac', 'm=audio 1 RTP/AVP 0\r\no=uac'), 'o= only inside a media section'],
  ];
  for (const [text, why] of bad) assert.throws(() => Sdp.parse(text), isSdpError, why);
  assert.throws(() => Sdp.parse(undefined as unknown as string), isSdpError);
  assert.throws(() => Sdp.parse(Buffer.from(BASIC) as unknown as string), isSdpError);
});

test('is bounded: size, line count and m= count', () => {
  const pad = (n: number) => `${BASIC}${'a=x\r\n'.repeat(n)}`;
  assert.doesNotThrow(() => Sdp.parse(pad(MAX_SDP_LINES - 10)));
  assert.throws(() => Sdp.parse(pad(MAX_SDP_LINES - 9)), /lines/);
  const big = `${BASIC}a=${'x'.repeat(MAX_SDP_BYTES)}\r\n`;
  assert.throws(() => Sdp.parse(big), /bytes/);
  // Multi-byte characters count as bytes, not UTF-16 units.
  const wide = `${BASIC}s=${'é'.repeat(MAX_SDP_BYTES / 2)}\r\n`;
  assert.ok(wide.length < MAX_SDP_BYTES + BASIC.length + 10);
  assert.throws(() => Sdp.parse(wide), /bytes/);
  const media = (n: number) => `${BASIC}${'m=audio 0 RTP/AVP 0\r\n'.repeat(n - 1)}`;
  assert.equal(Sdp.parse(media(MAX_SDP_MEDIA)).media.length, MAX_SDP_MEDIA);
  assert.throws(() => Sdp.parse(media(MAX_SDP_MEDIA + 1)), /m= sections/);
});

test('golden: rtpengine offer/answer rewrite of the Kamailio captures is reproduced exactly', (t) => {
  if (!haveCaptures()) {
    t.skip('MISSING PEER: ../shared/reference/kamailio-captures not found');
    return;
  }
  let checked = 0;
  for (const pass of ['ng-default', 'ng-flags']) {
    const caps = captures(pass);
    for (const kind of ['offer', 'answer']) {
      const req = caps.find((c) => c.name.endsWith(`-ng-${kind}.req`));
      const rep = caps.find((c) => c.name.endsWith(`-ng-${kind}.rep`));
      if (!req || !rep) continue;
      const inSdp = String(parseNgMessage(req.bytes).body.sdp);
      const outSdp = String(parseNgMessage(rep.bytes).body.sdp);
      const expected = Sdp.parse(outSdp);
      const sdp = Sdp.parse(inSdp);
      const m = sdp.media[0]!;
      // rtpengine (default flags): new port, a=rtcp:port+1 appended, everything else untouched.
      m.port = expected.media[0]!.port;
      m.rtcp = { port: m.port + 1 };
      assert.equal(sdp.toString(), outSdp, `${pass} ${kind}`);
      assert.deepEqual(expected.media[0]!.rtcp, { port: m.port + 1 });
      checked++;
    }
  }
  assert.equal(checked, 4);
});

test('attribute accessors', () => {
  const sdp = Sdp.parse(
    `${BASIC}a=x-flag\r\na=x-multi:1\r\na=x-multi:2 two\r\na=x-empty:\r\na=sendrecv \r\na=weird:a:b\r\n`,
  );
  const m = sdp.media[0]!;
  assert.equal(m.attr('x-flag'), '');
  assert.equal(m.attr('x-multi'), '1');
  assert.deepEqual(m.attrs('x-multi'), ['1', '2 two']);
  assert.equal(m.attr('x-empty'), '');
  assert.equal(m.attr('weird'), 'a:b');
  assert.equal(m.attr('absent'), undefined);
  assert.deepEqual(m.attrs('absent'), []);
  assert.equal(m.hasAttr('x-flag'), true);
  assert.equal(m.hasAttr('X-FLAG'), false, 'names are case-sensitive');
  assert.equal(m.hasAttr('x-'), false);
  assert.equal(m.attrs('sendrecv').length, 2, 'trailing space after a flag name is tolerated');
  assert.equal(sdp.session.hasAttr('rtpmap'), false, 'session level does not see media attributes');
});

test('removeAttrs, addAttr and setAttr keep other lines in place', () => {
  const sdp = Sdp.parse(`${BASIC}a=x:1\r\na=ptime:20\r\na=x:2\r\n`);
  const m = sdp.media[0]!;
  assert.equal(m.removeAttrs('nothing'), 0);
  assert.equal(
    m.removeAttrs((n, v) => n === 'rtpmap' && v.startsWith('101 ')),
    1,
  );
  assert.equal(
    sdp.toString(),
    `${BASIC.replace('a=rtpmap:101 telephone-event/8000\r\n', '')}a=x:1\r\na=ptime:20\r\na=x:2\r\n`,
  );
  m.setAttr('x', 'new');
  assert.deepEqual(
    m.lines.slice(-2).map((l) => l.value),
    ['x:new', 'ptime:20'],
  );
  m.setAttr('label', '1');
  m.addAttr('flag');
  m.addAttr('empty', '');
  m.setAttr('sendrecv');
  assert.deepEqual(
    m.lines.slice(-5).map((l) => l.value),
    ['x:new', 'ptime:20', 'label:1', 'flag', 'empty:'],
  );
  assert.equal(m.direction, 'sendrecv');
  assert.equal(m.removeAttrs('x'), 1);
  for (const [n, v] of [
    ['', 'x'],
    ['a b', 'x'],
    ['a:b', 'x'],
    ['ok', 'line\r\nbreak'],
    ['ok', 'nul\0'],
  ] as const) {
    assert.throws(() => m.addAttr(n, v), isSdpError, `${n} ${v}`);
    assert.throws(() => m.setAttr(n, v), isSdpError, `${n} ${v}`);
  }
});

test('connection setter: in place, at the RFC position, or removed', () => {
  const sdp = Sdp.parse(BASIC);
  const before = sdp.toString();
  sdp.session.connection = { netType: 'IN', addrType: 'IP6', address: '2001:db8::5' };
  assert.equal(sdp.toString(), before.replace('c=IN IP4 127.0.0.1', 'c=IN IP6 2001:db8::5'));
  sdp.session.connection = undefined;
  assert.equal(sdp.toString(), before.replace('c=IN IP4 127.0.0.1\r\n', ''));
  // Re-inserted after o=/s= and before t= (RFC 8866 order v o s i u e p c b t r z k a).
  sdp.session.connection = { netType: 'IN', addrType: 'IP4', address: '127.0.0.1' };
  assert.equal(sdp.toString(), before);

  const m = sdp.media[0]!;
  m.connection = { netType: 'IN', addrType: 'IP4', address: '192.0.2.1' };
  assert.deepEqual(
    m.lines.slice(0, 2).map((l) => `${l.type}=${l.value}`),
    ['m=audio 6000 RTP/AVP 8 101', 'c=IN IP4 192.0.2.1'],
  );
  // Media order is m i c b k a: c= goes after i= and before b=.
  const m2 = Sdp.parse(
    crlf(['v=0', 'o=- 1 1 IN IP4 1.1.1.1', 's=-', 't=0 0', 'm=audio 1 RTP/AVP 0', 'i=x', 'b=AS:1', 'a=y']),
  ).media[0]!;
  m2.connection = { netType: 'IN', addrType: 'IP4', address: '10.0.0.1' };
  assert.deepEqual(
    m2.lines.map((l) => l.type),
    ['m', 'i', 'c', 'b', 'a'],
  );
  const s2 = Sdp.parse(crlf(['v=0', 'o=- 1 1 IN IP4 1.1.1.1', 's=-', 'i=info', 'b=AS:1', 't=0 0']));
  s2.session.connection = { netType: 'IN', addrType: 'IP4', address: '10.0.0.1' };
  assert.deepEqual(
    s2.session.lines.map((l) => l.type),
    ['v', 'o', 's', 'i', 'c', 'b', 't'],
  );
  // Several c= lines (multicast) collapse into the one set.
  const s3 = Sdp.parse(`${BASIC}c=IN IP4 224.2.1.1/127\r\nc=IN IP4 224.2.1.2/127\r\n`);
  s3.media[0]!.connection = { netType: 'IN', addrType: 'IP4', address: '10.9.9.9' };
  assert.equal(s3.toString(), `${BASIC}c=IN IP4 10.9.9.9\r\n`);
  assert.throws(() => {
    m.connection = { netType: 'IN', addrType: 'IP4', address: 'a b' };
  }, isSdpError);
  assert.throws(() => {
    m.connection = { netType: 'IN', addrType: '', address: '1.1.1.1' };
  }, isSdpError);
});

test('direction getter and setter', () => {
  const sdp = Sdp.parse(BASIC.replace('t=0 0\r\n', 't=0 0\r\na=sendonly\r\n'));
  const m = sdp.media[0]!;
  assert.equal(sdp.session.direction, 'sendonly');
  assert.equal(m.direction, 'sendrecv');
  const idx = m.lines.findIndex((l) => l.value === 'sendrecv');
  m.direction = 'inactive';
  assert.equal(m.lines[idx]!.value, 'inactive');
  assert.equal(m.lines.length, 5);
  m.direction = undefined;
  assert.equal(m.direction, undefined);
  assert.equal(sdp.directionOf(m), 'sendonly');
  m.direction = 'recvonly';
  assert.equal(m.lines.at(-1)!.value, 'recvonly');
  sdp.session.direction = undefined;
  assert.equal(sdp.session.direction, undefined);
  m.direction = undefined;
  assert.equal(sdp.directionOf(m), 'sendrecv');
  // Conflicting directions: first wins, setter leaves one.
  const two = Sdp.parse(`${BASIC}a=recvonly\r\n`).media[0]!;
  assert.equal(two.direction, 'sendrecv');
  two.direction = 'sendonly';
  assert.deepEqual(
    two.lines.filter((l) => ['sendonly', 'recvonly', 'sendrecv'].includes(l.value)).map((l) => l.value),
    ['sendonly'],
  );
  assert.throws(() => {
    m.direction = 'both' as 'sendrecv';
  }, isSdpError);
});

test('m= line setters rewrite only the m= line', () => {
  const sdp = Sdp.parse(BASIC);
  const m = sdp.media[0]!;
  const mline = m.lines[0];
  m.port = 30000;
  m.portCount = 2;
  m.proto = 'RTP/SAVP';
  m.formats = ['0', '8'];
  m.kind = 'video';
  assert.equal(m.lines[0], mline, 'same line object, edited in place');
  assert.equal(sdp.toString(), BASIC.replace('m=audio 6000 RTP/AVP 8 101', 'm=video 30000/2 RTP/SAVP 0 8'));
  m.portCount = undefined;
  m.port = 0;
  assert.equal(m.rejected, true);
  m.formats.push('99');
  assert.deepEqual(m.formats, ['0', '8'], 'formats getter returns a copy');
  for (const bad of [-1, 65536, 1.5, Number.NaN]) {
    assert.throws(() => {
      m.port = bad;
    }, isSdpError);
  }
  assert.throws(() => {
    m.portCount = 0;
  }, isSdpError);
  assert.throws(() => {
    m.formats = ['8 9'];
  }, isSdpError);
  assert.throws(() => {
    m.proto = '';
  }, isSdpError);
  assert.equal(m.lines[0]!.value, 'video 0 RTP/SAVP 0 8', 'a refused setter changes nothing');
});

test('a=rtcp forms', () => {
  const sdp = Sdp.parse(`${BASIC}a=rtcp:6001\r\n`);
  const m = sdp.media[0]!;
  assert.deepEqual(m.rtcp, { port: 6001 });
  m.rtcp = { port: 7001, connection: { netType: 'IN', addrType: 'IP4', address: '192.0.2.9' } };
  assert.equal(sdp.toString(), `${BASIC}a=rtcp:7001 IN IP4 192.0.2.9\r\n`);
  assert.deepEqual(m.rtcp, {
    port: 7001,
    connection: { netType: 'IN', addrType: 'IP4', address: '192.0.2.9' },
  });
  m.addAttr('rtcp-mux');
  m.addAttr('rtcp-fb', '* nack');
  m.rtcp = undefined;
  assert.equal(m.rtcp, undefined);
  assert.equal(m.rtcpMux, true, 'removing a=rtcp leaves a=rtcp-mux');
  assert.equal(m.attr('rtcp-fb'), '* nack');
  for (const bad of ['x', '70000', '6001 IN IP4', '', '6001 IN IP4 1.1.1.1 extra']) {
    assert.equal(Sdp.parse(`${BASIC}a=rtcp:${bad}\r\n`).media[0]!.rtcp, undefined, bad);
  }
  assert.throws(() => {
    m.rtcp = { port: 65536 };
  }, isSdpError);
});

test('rtcp-mux, mid and ptime', () => {
  const m = Sdp.parse(BASIC).media[0]!;
  assert.equal(m.rtcpMux, false);
  m.rtcpMux = true;
  m.rtcpMux = true;
  assert.equal(m.attrs('rtcp-mux').length, 1);
  m.rtcpMux = false;
  assert.equal(m.rtcpMux, false);
  assert.equal(m.mid, undefined);
  m.mid = 'audio';
  m.mid = '0';
  assert.deepEqual(m.attrs('mid'), ['0']);
  m.mid = undefined;
  assert.equal(m.hasAttr('mid'), false);
  assert.equal(m.ptime, undefined);
  m.ptime = 20;
  assert.equal(m.attr('ptime'), '20');
  assert.equal(m.ptime, 20);
  m.setAttr('ptime', '22.5');
  assert.equal(m.ptime, 22.5);
  for (const bad of ['', 'x', '0', '-20', '20ms', '1e3']) {
    m.setAttr('ptime', bad);
    assert.equal(m.ptime, undefined, bad);
  }
  m.ptime = undefined;
  assert.equal(m.hasAttr('ptime'), false);
  assert.throws(() => {
    m.ptime = 0;
  }, isSdpError);
});

test('rtpmaps and fmtp', () => {
  const m = Sdp.parse(
    `${BASIC}a=rtpmap:111 opus/48000/2\r\na=rtpmap:8 PCMU/8000\r\na=rtpmap:200 X/8000\r\na=rtpmap:96 bad\r\na=rtpmap:97 a/0\r\na=rtpmap:98 /8000\r\na=rtpmap:99 a/8000/x\r\na=fmtp:111 minptime=10; useinbandfec=1\r\na=fmtp:96\r\n`,
  ).media[0]!;
  assert.deepEqual(
    [...m.rtpmaps()],
    [
      [8, { encoding: 'PCMA', clockRate: 8000 }],
      [101, { encoding: 'telephone-event', clockRate: 8000 }],
      [111, { encoding: 'opus', clockRate: 48000, channels: 2 }],
    ],
    'first mapping of a PT wins; out-of-range and malformed lines are skipped',
  );
  assert.equal(m.fmtp(101), '0-15');
  assert.equal(m.fmtp('101'), '0-15');
  assert.equal(m.fmtp(111), 'minptime=10; useinbandfec=1');
  assert.equal(m.fmtp(96), '');
  assert.equal(m.fmtp(8), undefined);
  assert.equal(m.fmtp(10), undefined, 'does not match a prefix of 101');
});

test('removeFormats drops the format and its rtpmap/fmtp/rtcp-fb lines', () => {
  const m = Sdp.parse(
    `${BASIC}a=rtcp-fb:101 nack\r\na=rtcp-fb:* nack\r\na=rtcp-fb:8 x\r\na=fmtp:1010 keep\r\n`,
  ).media[0]!;
  assert.equal(m.removeFormats(['101', 5]), 1);
  assert.deepEqual(m.formats, ['8']);
  assert.deepEqual(
    m.lines.map((l) => `${l.type}=${l.value}`),
    [
      'm=audio 6000 RTP/AVP 8',
      'a=rtpmap:8 PCMA/8000',
      'a=sendrecv',
      'a=rtcp-fb:* nack',
      'a=rtcp-fb:8 x',
      'a=fmtp:1010 keep',
    ],
  );
});

test('origin getter and setter', () => {
  const sdp = Sdp.parse(BASIC);
  const o = sdp.origin!;
  sdp.origin = { ...o, sessVersion: String(BigInt(o.sessVersion) + 1n) };
  assert.equal(sdp.toString(), BASIC.replace('2353687637 IN', '2353687638 IN'));
  sdp.session.setLine('o', undefined);
  assert.equal(sdp.origin, undefined);
  sdp.origin = o;
  assert.equal(sdp.toString(), BASIC, 'o= goes back after v=');
  assert.throws(() => {
    sdp.origin = { ...o, username: 'two words' };
  }, isSdpError);
  assert.throws(() => sdp.session.setLine('bb', 'AS:1'), isSdpError);
  assert.throws(() => sdp.session.setLine('b', 'AS:1\r\nx=y'), isSdpError);
  assert.equal(sdp.toString(), BASIC);
  sdp.session.setLine('b', 'AS:64');
  assert.equal(sdp.toString(), BASIC.replace('t=0 0', 'b=AS:64\r\nt=0 0'));
});

test('clone is deep', () => {
  const a = Sdp.parse(BASIC);
  const b = a.clone();
  b.media[0]!.port = 1;
  b.media[0]!.addAttr('x');
  b.session.lines[2]!.value = 'changed';
  b.media.push(SdpMedia.create({ kind: 'video', port: 0, proto: 'RTP/AVP', formats: ['31'] }));
  assert.equal(a.toString(), BASIC);
  assert.equal(b.media.length, 2);
  assert.ok(b.toString().endsWith('m=video 0 RTP/AVP 31\r\n'));
});

test('media sections can be built, spliced and validated', () => {
  const sdp = Sdp.parse(BASIC);
  const v = SdpMedia.create({ kind: 'video', port: 5000, portCount: 2, proto: 'RTP/AVP', formats: ['96'] });
  v.addAttr('rtpmap', '96 VP8/90000');
  sdp.media.unshift(v);
  assert.equal(sdp.media[0]!.portCount, 2);
  assert.ok(
    sdp.toString().includes('t=0 0\r\nm=video 5000/2 RTP/AVP 96\r\na=rtpmap:96 VP8/90000\r\nm=audio'),
  );
  sdp.media.splice(1, 1);
  assert.equal(Sdp.parse(sdp.toString()).media.length, 1);
  assert.throws(() => new SdpMedia([{ type: 'a', value: 'x' }]), isSdpError);
  assert.throws(() => new SdpMedia([]), isSdpError);
  const broken = Sdp.parse(BASIC).media[0]!;
  broken.lines[0]!.value = 'garbage';
  assert.throws(() => broken.port, isSdpError, 'a hand-broken m= line is reported, not misread');
});

test('iceAttributeNames covers the ICE attributes', () => {
  for (const n of [
    'ice-ufrag',
    'ice-pwd',
    'ice-options',
    'ice-lite',
    'candidate',
    'remote-candidates',
    'end-of-candidates',
    'ice-mismatch',
  ]) {
    assert.ok(iceAttributeNames.has(n), n);
  }
  assert.equal(iceAttributeNames.has('rtcp-mux'), false);
});

// ---- properties -------------------------------------------------------------------------------------

const token = fc.stringMatching(/^[A-Za-z0-9.\-_/+]{1,12}$/);
const attrLine = fc.oneof(
  fc
    .tuple(fc.integer({ min: 0, max: 127 }), token, fc.integer({ min: 1, max: 96000 }))
    .map(([pt, enc, rate]) => `a=rtpmap:${pt} ${enc.replaceAll('/', '')}x/${rate}`),
  fc.tuple(fc.integer({ min: 0, max: 127 }), token).map(([pt, p]) => `a=fmtp:${pt} ${p}`),
  fc.integer({ min: 0, max: 65535 }).map((p) => `a=rtcp:${p}`),
  fc.integer({ min: 0, max: 65535 }).map((p) => `a=rtcp:${p} IN IP4 10.0.0.1`),
  fc.constantFrom(
    'a=sendrecv',
    'a=sendonly',
    'a=recvonly',
    'a=inactive',
    'a=rtcp-mux',
    'a=end-of-candidates',
  ),
  token.map((t) => `a=mid:${t}`),
  token.map((t) => `a=ice-ufrag:${t}`),
  token.map((t) => `a=candidate:1 1 udp 1 10.0.0.1 ${t.length} typ host`),
  fc
    .tuple(token, fc.string({ maxLength: 20 }))
    .map(([n, v]) => `a=x-${n.replaceAll(':', '')}:${v.replace(/[\r\n\0]/g, '')}`),
  token.map((t) => `b=AS:${t}`),
  token.map((t) => `i=${t} info`),
  fc.constantFrom('c=IN IP4 192.0.2.1', 'c=IN IP6 ::1', 'c=IN IP4 224.0.0.1/16'),
);
const mediaSection = fc
  .tuple(
    fc.constantFrom('audio', 'video', 'image', 'application'),
    fc.integer({ min: 0, max: 65535 }),
    fc.option(fc.integer({ min: 1, max: 8 }), { nil: undefined }),
    fc.constantFrom('RTP/AVP', 'RTP/SAVPF', 'udptl', 'UDP/TLS/RTP/SAVPF'),
    fc.array(fc.integer({ min: 0, max: 127 }).map(String), { maxLength: 6 }),
    fc.array(attrLine, { maxLength: 10 }),
  )
  .map(([kind, port, count, proto, fmts, lines]) => [
    `m=${kind} ${port}${count === undefined ? '' : `/${count}`} ${proto}${fmts.map((f) => ` ${f}`).join('')}`,
    ...lines,
  ]);
const sdpText = fc
  .tuple(fc.array(attrLine, { maxLength: 6 }), fc.array(mediaSection, { maxLength: 4 }))
  .map(([session, media]) =>
    crlf(['v=0', 'o=- 123 456 IN IP4 10.0.0.1', 's=-', 't=0 0', ...session, ...media.flat()]),
  );

test('property: generated SDPs round-trip byte for byte', () => {
  fc.assert(
    fc.property(sdpText, (text) => {
      const sdp = Sdp.parse(text);
      assert.equal(sdp.toString(), text);
      assert.equal(sdp.clone().toString(), text);
    }),
    { numRuns: 300, seed: 8866 },
  );
});

type Op = { owns: (l: SdpLine, mediaIndex: number) => boolean; apply: (s: Sdp) => void };
const ops: fc.Arbitrary<Op>[] = [
  fc.integer({ min: 0, max: 65535 }).map((port) => ({
    owns: (l, i) => i === 0 && l.type === 'm',
    apply: (s) => {
      if (s.media[0]) s.media[0].port = port;
    },
  })),
  fc.constant<Op>({
    owns: (l, i) => i === 0 && l.type === 'c',
    apply: (s) => {
      if (s.media[0]) s.media[0].connection = { netType: 'IN', addrType: 'IP4', address: '203.0.113.5' };
    },
  }),
  fc.constant<Op>({
    owns: (l, i) => i === -1 && l.type === 'c',
    apply: (s) => {
      s.session.connection = undefined;
    },
  }),
  fc.constantFrom<Op>(
    ...(['sendonly', 'inactive', undefined] as const).map((d) => ({
      owns: (l: SdpLine) => l.type === 'a' && /^(sendrecv|sendonly|recvonly|inactive)\s*$/.test(l.value),
      apply: (s: Sdp) => {
        for (const m of s.media) m.direction = d;
      },
    })),
  ),
  fc.constant<Op>({
    owns: (l) => l.type === 'a' && /^(ice-|candidate|end-of-candidates|remote-candidates)/.test(l.value),
    apply: (s) => {
      s.session.removeAttrs((n) => iceAttributeNames.has(n));
      for (const m of s.media) m.removeAttrs((n) => iceAttributeNames.has(n));
    },
  }),
  fc.constant<Op>({
    owns: (l) => l.type === 'a' && /^rtcp(:|$)/.test(l.value),
    apply: (s) => {
      for (const m of s.media)
        m.rtcp = { port: 9, connection: { netType: 'IN', addrType: 'IP4', address: '0.0.0.0' } };
    },
  }),
  fc.constant<Op>({
    owns: (l) => l.type === 'o',
    apply: (s) => {
      s.origin = { ...s.origin!, sessVersion: '999' };
    },
  }),
];

test('property: a setter changes only the lines it owns, and keeps the rest in order', () => {
  fc.assert(
    fc.property(sdpText, fc.oneof(...ops), (text, op) => {
      const sdp = Sdp.parse(text);
      const tagged = (s: Sdp) => [
        ...s.session.lines.map((l) => ({ l, i: -1 })),
        ...s.media.flatMap((m, i) => m.lines.map((l) => ({ l, i }))),
      ];
      const keep = (s: Sdp) =>
        tagged(s)
          .filter(({ l, i }) => !op.owns(l, i))
          .map(({ l, i }) => `${i}|${l.type}=${l.value}`);
      const before = keep(sdp);
      op.apply(sdp);
      assert.deepEqual(keep(sdp), before);
      assert.equal(Sdp.parse(sdp.toString()).toString(), sdp.toString());
    }),
    { numRuns: 400, seed: 3264 },
  );
});

test('fuzz: arbitrary text never throws anything but SdpError', () => {
  const prefixed = fc
    .tuple(
      fc.constantFrom('', 'v=0\r\n', 'v=0\r\no=- 1 1 IN IP4 1.1.1.1\r\ns=-\r\n', BASIC),
      fc.string({ maxLength: 300 }),
    )
    .map(([p, s]) => p + s);
  const lineSoup = fc
    .array(
      fc.tuple(
        fc.constantFrom('v', 'o', 's', 'c', 't', 'm', 'a', 'b', 'x', '', '='),
        fc.string({ maxLength: 30 }),
      ),
      { maxLength: 20 },
    )
    .map((ls) => ls.map(([t, v]) => `${t}=${v}`).join('\r\n'));
  fc.assert(
    fc.property(
      fc.oneof(
        fc.string({ maxLength: 300 }),
        fc.string({ unit: 'binary', maxLength: 100 }),
        prefixed,
        lineSoup,
      ),
      (s) => {
        try {
          const sdp = Sdp.parse(s);
          for (const m of sdp.media) void [m.port, m.formats, m.rtcp, m.rtpmaps(), m.ptime, m.direction];
          void [sdp.origin, sdp.session.connection, sdp.toString()];
        } catch (e) {
          if (!(e instanceof SdpError)) throw e;
        }
      },
    ),
    { numRuns: 2000, seed: 4567 },
  );
});

test('worst-case inputs parse quickly', () => {
  const cases = [
    `${BASIC}a=${' '.repeat(60_000)}\r\n`,
    `${BASIC}${'a=rtpmap:1 a/1\r\n'.repeat(1900)}`,
    `${BASIC}m=audio 1 RTP/AVP${' 1'.repeat(30_000)}\r\n`,
    `${BASIC}a=fmtp:${' \t'.repeat(30_000)}x\r\n`,
    `${'v=0\n'.repeat(100_000)}`,
  ];
  for (const c of cases) {
    const t0 = performance.now();
    try {
      const sdp = Sdp.parse(c);
      for (const m of sdp.media) void [m.formats, m.rtpmaps(), m.fmtp(1), m.ptime];
      sdp.toString();
    } catch (e) {
      assert.ok(e instanceof SdpError);
    }
    assert.ok(performance.now() - t0 < 500, `took ${performance.now() - t0} ms`);
  }
});

test('sloppy whitespace inside fields is read, and kept verbatim until a setter rewrites the line', () => {
  const text = crlf([
    'v=0',
    'o=-  1 1 IN IP4 10.0.0.1',
    's=-',
    'c=IN  IP4\t10.0.0.1 ',
    't=0 0',
    'm=audio  6000 RTP/AVP  0 8 ',
    'a=rtcp:6001  IN IP4 10.0.0.1',
    'a=rtpmap:0  PCMU/8000',
    'a=fmtp:8\t x=y',
    'a=ptime: 20',
  ]);
  const sdp = Sdp.parse(text);
  const m = sdp.media[0]!;
  assert.equal(sdp.toString(), text);
  assert.equal(sdp.origin?.sessId, '1');
  assert.deepEqual(sdp.session.connection, { netType: 'IN', addrType: 'IP4', address: '10.0.0.1' });
  assert.equal(m.port, 6000);
  assert.deepEqual(m.formats, ['0', '8']);
  assert.deepEqual(m.rtcp, {
    port: 6001,
    connection: { netType: 'IN', addrType: 'IP4', address: '10.0.0.1' },
  });
  assert.deepEqual(m.rtpmaps().get(0), { encoding: 'PCMU', clockRate: 8000 });
  assert.equal(m.fmtp(8), 'x=y');
  assert.equal(m.ptime, 20);
  m.port = 7000;
  assert.equal(m.lines[0]!.value, 'audio 7000 RTP/AVP 0 8', 'a rewritten line is normalised');
  assert.equal(sdp.toString(), text.replace('m=audio  6000 RTP/AVP  0 8 ', 'm=audio 7000 RTP/AVP 0 8'));
});
