import assert from 'node:assert/strict';
import { test } from 'node:test';
import { toWireDict, wireKeyOf } from '../../src/client/wire-keys.js';

test('toWireDict maps camelCase options to rtpengine keys', () => {
  const d = toWireDict('offer', {
    sdp: 'v=0',
    callId: 'c',
    fromTag: 'f',
    toTag: 't',
    viaBranch: 'z9',
    flags: ['trust address', 'symmetric'],
    replace: ['origin', 'session-connection'],
    direction: ['priv', 'pub'],
    receivedFrom: '192.0.2.1',
    mediaAddress: '192.0.2.9',
    addressFamily: 'IP6',
    ice: 'remove',
    transportProtocol: 'RTP/SAVP',
    rtcpMux: ['demux'],
    tos: 184,
    dtls: 'passive',
    sdes: ['off'],
    recordCall: true,
    metadata: 'm',
    codec: {
      strip: ['PCMA'],
      offer: ['PCMU'],
      transcode: ['opus'],
      mask: ['G722'],
      set: ['opus/48000/2/24000'],
    },
    ptime: 20,
    generateRtcp: false,
  });
  assert.deepEqual(d, {
    command: 'offer',
    sdp: 'v=0',
    'call-id': 'c',
    'from-tag': 'f',
    'to-tag': 't',
    'via-branch': 'z9',
    flags: ['trust address', 'symmetric'],
    replace: ['origin', 'session-connection'],
    direction: ['priv', 'pub'],
    'received from': ['IP4', '192.0.2.1'],
    'media address': '192.0.2.9',
    'address family': 'IP6',
    ICE: 'remove',
    'transport protocol': 'RTP/SAVP',
    'rtcp-mux': ['demux'],
    TOS: 184,
    DTLS: 'passive',
    SDES: ['off'],
    'record call': 'yes',
    metadata: 'm',
    codec: {
      strip: ['PCMA'],
      offer: ['PCMU'],
      transcode: ['opus'],
      mask: ['G722'],
      set: ['opus/48000/2/24000'],
    },
    ptime: 20,
    'generate RTCP': 'off',
  });
});

test('toWireDict: IPv6 receivedFrom, tuples kept, nested db-id, extra last, undefined dropped', () => {
  const d = toWireDict('play media', {
    callId: 'c',
    receivedFrom: '2001:db8::1',
    dbId: 7,
    moh: { dbId: 3, mode: 'sendonly' },
    fromTag: undefined,
    extra: { 'custom key': 'x', 'call-id': 'override' },
  });
  assert.deepEqual(d, {
    command: 'play media',
    'call-id': 'override',
    'received from': ['IP6', '2001:db8::1'],
    'db-id': 7,
    moh: { 'db-id': 3, mode: 'sendonly' },
    'custom key': 'x',
  });
  assert.deepEqual(toWireDict('offer', { receivedFrom: ['IP4', '1.2.3.4'] })['received from'], [
    'IP4',
    '1.2.3.4',
  ]);
});

test('toWireDict rejects unknown options and bad values', () => {
  assert.throws(() => toWireDict('offer', { callid: 'x' }), /unknown ng option 'callid'/);
  assert.throws(() => toWireDict('offer', { ptime: Number.NaN }), TypeError);
  assert.equal(toWireDict('offer', { timeoutMs: 5 }).timeoutMs, undefined);
});

test('wireKeyOf documents the mapping', () => {
  assert.equal(wireKeyOf('receivedFrom'), 'received from');
  assert.equal(wireKeyOf('deleteDelay'), 'delete delay');
  assert.equal(wireKeyOf('dtmfSecurity'), 'DTMF-security');
});
