import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { rtp } from '../helpers/endpoint.js';
import { type RunningProxy, startProxy } from '../helpers/proxy.js';
import { collect, mediaCall } from './media-helpers.js';

let p: RunningProxy;
before(async () => {
  p = await startProxy(['--delete-delay=0']);
});
after(async () => {
  await p.stop();
});

const audio = (seq: number) => rtp(0, seq, seq * 160, 0xa, Buffer.alloc(160, 0x12));
const event = (seq: number) => rtp(101, seq, 0, 0xa, Buffer.from([1, 0x0a, 0, 160]));

test('block media drops audio but lets DTMF through; unblock restores it', async () => {
  const c = await mediaCall(p);
  try {
    assert.equal((await p.ng.request({ command: 'block media', 'call-id': c.callId })).result, 'ok');
    c.a.send(audio(1), c.toProxyFromA);
    c.a.send(event(2), c.toProxyFromA);
    const [first] = await collect(c.b, 1);
    assert.equal(first!.readUInt16BE(2), 2, 'the audio packet was dropped, the event passed');
    assert.equal((await p.ng.request({ command: 'unblock media', 'call-id': c.callId })).result, 'ok');
    c.a.send(audio(3), c.toProxyFromA);
    assert.equal((await collect(c.b, 1))[0]!.readUInt16BE(2), 3);
  } finally {
    c.close();
  }
});

test('silence media replaces the payload with G.711 silence and keeps the stream', async () => {
  const c = await mediaCall(p);
  try {
    const r = await p.ng.request({
      command: 'silence media',
      'call-id': c.callId,
      'from-tag': 'tagA',
      flags: ['directional'],
    });
    assert.equal(r.result, 'ok');
    c.a.send(audio(10), c.toProxyFromA);
    const [got] = await collect(c.b, 1);
    assert.equal(got!.readUInt16BE(2), 10);
    assert.deepEqual(got!.subarray(12), Buffer.alloc(160, 0xff), 'PCMU silence');
    // The other direction is untouched.
    c.b.send(audio(11), c.toProxyFromB);
    assert.deepEqual((await collect(c.a, 1))[0]!.subarray(12), Buffer.alloc(160, 0x12));
    const q = await p.ng.request({ command: 'query', 'call-id': c.callId });
    const tags = q.tags as Record<string, { 'media control'?: string[] }>;
    assert.deepEqual(tags.tagA?.['media control'], ['silenced']);
    assert.equal(tags.tagB?.['media control'], undefined);
    await p.ng.request({
      command: 'unsilence media',
      'call-id': c.callId,
      'from-tag': 'tagA',
      flags: ['directional'],
    });
    c.a.send(audio(12), c.toProxyFromA);
    assert.deepEqual((await collect(c.b, 1))[0]!.subarray(12), Buffer.alloc(160, 0x12));
  } finally {
    c.close();
  }
});

test('select by label and by address; unknown selections are errors', async () => {
  const c = await mediaCall(p, undefined, { label: 'caller' });
  try {
    const r = await p.ng.request({ command: 'block media', 'call-id': c.callId, label: 'caller' });
    assert.equal(r.result, 'ok', JSON.stringify(r));
    c.a.send(audio(1), c.toProxyFromA);
    c.b.send(audio(2), c.toProxyFromB);
    assert.equal((await collect(c.a, 1))[0]!.readUInt16BE(2), 2, "B's media still reaches A");
    c.a.send(event(3), c.toProxyFromA);
    assert.equal((await collect(c.b, 1))[0]!.readUInt16BE(2), 3, "A's audio was blocked");
    // Unblocking the whole call leaves the per-party block unless `all` is given (rtpengine).
    await p.ng.request({ command: 'unblock media', 'call-id': c.callId });
    c.a.send(audio(4), c.toProxyFromA);
    c.a.send(event(5), c.toProxyFromA);
    assert.equal((await collect(c.b, 1))[0]!.readUInt16BE(2), 5);
    await p.ng.request({ command: 'unblock media', 'call-id': c.callId, flags: ['all'] });
    c.a.send(audio(6), c.toProxyFromA);
    assert.equal((await collect(c.b, 1))[0]!.readUInt16BE(2), 6);

    const byAddr = await p.ng.request({ command: 'block DTMF', 'call-id': c.callId, address: '127.0.0.1' });
    assert.equal(byAddr.result, 'ok');
    const bad = await p.ng.request({ command: 'block DTMF', 'call-id': c.callId, label: 'nobody' });
    assert.equal(bad.result, 'error');
    const noCall = await p.ng.request({ command: 'block DTMF', 'call-id': 'no-such-call' });
    assert.equal(noCall.result, 'error');
    assert.equal(noCall['error-reason'], 'Unknown call-id');
  } finally {
    c.close();
  }
});
