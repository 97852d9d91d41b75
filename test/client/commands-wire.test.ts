/**
 * Every typed method against an in-test server that records requests: the command string and dictionary on
 * the wire are what rtpengine documents. (Covers the commands rtpengine 10.5 lacks, e.g. connect.)
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { NgClient } from '../../src/client/client.js';
import { NG_COMMANDS, type NgMethod } from '../../src/client/commands.js';
import type { BDict } from '../../src/wire/bencode.js';
import { reservePortBlock } from '../helpers/ports.js';
import { startTestNgServer, type TestNgServer } from './helpers-ng-server.js';

let srv: TestNgServer;
let ng: NgClient;
before(async () => {
  srv = await startTestNgServer(reservePortBlock());
  ng = new NgClient(`udp://127.0.0.1:${srv.port}`, { supportsLoadLimit: false });
});
after(async () => {
  ng.close();
  await srv.close();
});

async function sent(call: () => Promise<unknown>): Promise<BDict> {
  const n = srv.received.length;
  await call();
  const m = srv.received[n];
  assert.ok(m, 'request recorded');
  return m.body;
}

const call = { callId: 'c1', fromTag: 'ft' };
const cases: [NgMethod, () => Promise<unknown>, BDict][] = [
  ['ping', () => ng.ping(), {}],
  [
    'offer',
    () => ng.offer({ ...call, sdp: 'v=0', ice: 'force' }),
    { 'call-id': 'c1', 'from-tag': 'ft', sdp: 'v=0', ICE: 'force' },
  ],
  [
    'answer',
    () => ng.answer({ ...call, toTag: 'tt', sdp: 'v=0' }),
    { 'call-id': 'c1', 'from-tag': 'ft', 'to-tag': 'tt', sdp: 'v=0' },
  ],
  [
    'delete',
    () => ng.delete({ callId: 'c1', deleteDelay: 0, flags: ['fatal'] }),
    { 'call-id': 'c1', 'delete delay': 0, flags: ['fatal'] },
  ],
  ['query', () => ng.query({ callId: 'c1' }), { 'call-id': 'c1' }],
  ['list', () => ng.list({ limit: 10 }), { limit: 10 }],
  ['statistics', () => ng.statistics(), {}],
  [
    'startRecording',
    () => ng.startRecording({ callId: 'c1', recordingDir: '/tmp/r', metadata: 'm' }),
    { 'call-id': 'c1', 'recording-dir': '/tmp/r', metadata: 'm' },
  ],
  [
    'stopRecording',
    () => ng.stopRecording({ callId: 'c1', flags: ['pause'] }),
    { 'call-id': 'c1', flags: ['pause'] },
  ],
  ['pauseRecording', () => ng.pauseRecording({ callId: 'c1' }), { 'call-id': 'c1' }],
  ['startForwarding', () => ng.startForwarding({ callId: 'c1' }), { 'call-id': 'c1' }],
  ['stopForwarding', () => ng.stopForwarding({ callId: 'c1' }), { 'call-id': 'c1' }],
  [
    'blockDTMF',
    () => ng.blockDTMF({ ...call, dtmfSecurity: 'tone', frequencies: [400, 800] }),
    { 'call-id': 'c1', 'from-tag': 'ft', 'DTMF-security': 'tone', frequencies: [400, 800] },
  ],
  [
    'unblockDTMF',
    () => ng.unblockDTMF({ callId: 'c1', address: '192.0.2.1' }),
    { 'call-id': 'c1', address: '192.0.2.1' },
  ],
  [
    'blockMedia',
    () => ng.blockMedia({ callId: 'c1', label: 'caller' }),
    { 'call-id': 'c1', label: 'caller' },
  ],
  [
    'unblockMedia',
    () => ng.unblockMedia({ callId: 'c1', flags: ['all'] }),
    { 'call-id': 'c1', flags: ['all'] },
  ],
  ['silenceMedia', () => ng.silenceMedia(call), { 'call-id': 'c1', 'from-tag': 'ft' }],
  ['unsilenceMedia', () => ng.unsilenceMedia(call), { 'call-id': 'c1', 'from-tag': 'ft' }],
  [
    'playMedia',
    () => ng.playMedia({ ...call, file: '/p.wav', repeatTimes: 2, startPos: 100 }),
    { 'call-id': 'c1', 'from-tag': 'ft', file: '/p.wav', 'repeat-times': 2, 'start-pos': 100 },
  ],
  ['stopMedia', () => ng.stopMedia(call), { 'call-id': 'c1', 'from-tag': 'ft' }],
  [
    'playDTMF',
    () => ng.playDTMF({ ...call, code: '#', duration: 100, volume: 10, pause: 50 }),
    { 'call-id': 'c1', 'from-tag': 'ft', code: '#', duration: 100, volume: 10, pause: 50 },
  ],
  ['publish', () => ng.publish({ ...call, sdp: 'v=0' }), { 'call-id': 'c1', 'from-tag': 'ft', sdp: 'v=0' }],
  [
    'subscribeRequest',
    () => ng.subscribeRequest({ callId: 'c1', fromTags: ['a', 'b'] }),
    { 'call-id': 'c1', 'from-tags': ['a', 'b'] },
  ],
  [
    'subscribeAnswer',
    () => ng.subscribeAnswer({ callId: 'c1', toTag: 'sub', sdp: 'v=0' }),
    { 'call-id': 'c1', 'to-tag': 'sub', sdp: 'v=0' },
  ],
  ['unsubscribe', () => ng.unsubscribe({ callId: 'c1', toTag: 'sub' }), { 'call-id': 'c1', 'to-tag': 'sub' }],
  [
    'connect',
    () => ng.connect({ ...call, toTag: 'tt', toCallId: 'c2' }),
    { 'call-id': 'c1', 'from-tag': 'ft', 'to-tag': 'tt', 'to-call-id': 'c2' },
  ],
];

test('every ng command of rtpengine 10.5+ has a typed method, and each is covered here', () => {
  assert.deepEqual(cases.map((c) => c[0]).sort(), Object.keys(NG_COMMANDS).sort());
});

for (const [method, run, expect] of cases) {
  test(`${method} sends '${NG_COMMANDS[method]}' with the documented keys`, async () => {
    const body = await sent(run);
    assert.deepEqual({ ...body }, { command: NG_COMMANDS[method], ...expect });
  });
}

test('request() is the escape hatch for any command and key', async () => {
  const body = await sent(() => ng.request('inject start', { 'call-id': 'c1', 'source-tag': 's' }));
  assert.deepEqual({ ...body }, { command: 'inject start', 'call-id': 'c1', 'source-tag': 's' });
});
