import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseSignal } from '../../src/control/ng-options.js';
import { expandRtppFlags } from '../../src/control/rtpp-flags.js';

const sdp = (proto: string) =>
  `v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 4000 ${proto} 0\r\n`;
const base = { 'call-id': 'c', 'from-tag': 'f' };

test('flag WebRTC: the browser side gets WebRTC, the other plain RTP, whichever offers', () => {
  const offer = (proto: string, extra: Record<string, unknown> = {}) =>
    parseSignal({ ...base, sdp: sdp(proto), flags: ['WebRTC'], ...extra }, 'offer').opts.transportProtocol;
  assert.equal(offer('UDP/TLS/RTP/SAVPF'), 'RTP/AVP', 'a browser offers: the callee gets plain RTP');
  assert.equal(offer('RTP/AVP'), 'UDP/TLS/RTP/SAVPF', 'a plain offer: the callee is the browser');
  assert.equal(offer('RTP/AVP', { flags: ['webrtc'] }), 'UDP/TLS/RTP/SAVPF', 'any case');
  assert.equal(
    offer('UDP/TLS/RTP/SAVPF', { 'transport-protocol': 'RTP/AVPF' }),
    'RTP/AVPF',
    'an explicit one wins',
  );
  const viaString = parseSignal(
    expandRtppFlags({ ...base, sdp: sdp('RTP/AVP'), 'rtpp-flags': 'WebRTC' }),
    'offer',
  );
  assert.equal(viaString.opts.transportProtocol, 'UDP/TLS/RTP/SAVPF', 'in rtpp-flags too');
  assert.deepEqual(viaString.warnings, []);
  const forced = parseSignal({ ...base, sdp: sdp('RTP/AVP'), flags: ['WebRTC'], ICE: 'force' }, 'offer');
  assert.equal(forced.opts.iceForce, true, 'ICE=force is understood (offered to WebRTC recipients)');
  assert.deepEqual(forced.warnings, []);
  const answer = parseSignal({ ...base, 'to-tag': 't', sdp: sdp('RTP/AVP'), flags: ['WebRTC'] }, 'answer');
  assert.equal(answer.opts.transportProtocol, undefined, 'answers convert back by themselves');
});

test('DTLS=off keeps an SRTP offer to SDES; passive is what we do anyway; active is not supported', () => {
  const parse = (v: string) =>
    parseSignal({ ...base, sdp: sdp('RTP/AVP'), 'transport-protocol': 'RTP/SAVP', DTLS: v }, 'offer');
  assert.equal(parse('off').opts.dtlsOff, true);
  assert.deepEqual(parse('off').warnings, []);
  assert.equal(parse('no').opts.dtlsOff, true);
  assert.deepEqual(parse('passive').warnings, []);
  assert.equal(parse('passive').opts.dtlsOff, undefined);
  assert.match(parse('active').warnings.join(), /DTLS 'active' is not supported/);
});
