import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { rtp } from '../helpers/endpoint.js';
import { type RunningProxy, startProxy } from '../helpers/proxy.js';
import { setupCall } from './call-setup.js';

let p: RunningProxy;
before(async () => {
  p = await startProxy(['--delete-delay=0'], { interface: ['127.0.0.1', '::1'] });
});
after(() => p.stop());

test('IPv6 call: SDP and media on ::1', async () => {
  const c = await setupCall(p, { aAddress: '::1', bAddress: '::1' });
  try {
    assert.match(String(c.offer.sdp), /^c=IN IP6 ::1\r$/m);
    assert.match(String(c.answer.sdp), /^c=IN IP6 ::1\r$/m);
    c.a.send(rtp(0, 1, 1, 0xa), c.toProxyFromA.rtp, '::1');
    assert.equal((await c.b.next()).msg.readUInt32BE(8), 0xa);
    c.b.send(rtp(0, 2, 2, 0xb), c.toProxyFromB.rtp, '::1');
    assert.equal((await c.a.next()).msg.readUInt32BE(8), 0xb);
  } finally {
    c.close();
  }
});

test('IPv4 caller bridged to an IPv6 callee with address family IP6', async () => {
  const c = await setupCall(p, {
    aAddress: '127.0.0.1',
    bAddress: '::1',
    offerExtra: { 'address family': 'IP6' },
  });
  try {
    assert.match(String(c.offer.sdp), /^c=IN IP6 ::1\r$/m, 'the callee is offered IPv6');
    assert.match(String(c.answer.sdp), /^c=IN IP4 127\.0\.0\.1\r$/m, 'the caller is answered in IPv4');
    c.a.send(rtp(0, 1, 1, 0xa), c.toProxyFromA.rtp, '127.0.0.1');
    const r = await c.b.next();
    assert.equal(r.msg.readUInt32BE(8), 0xa);
    assert.equal(r.from.family, 'IPv6');
    c.b.send(rtp(0, 2, 2, 0xb), c.toProxyFromB.rtp, '::1');
    const back = await c.a.next();
    assert.equal(back.msg.readUInt32BE(8), 0xb);
    assert.equal(back.from.family, 'IPv4');
  } finally {
    c.close();
  }
});

test('direction picks named interfaces', async () => {
  const q = await startProxy(['--delete-delay=0'], {
    interface: ['int/127.0.0.1', 'ext/127.0.0.2!203.0.113.5'],
  });
  try {
    const c = await setupCall(q, { offerExtra: { direction: ['int', 'ext'] }, answerExtra: {} });
    assert.match(String(c.offer.sdp), /^c=IN IP4 203\.0\.113\.5\r$/m, 'the advertised address of ext');
    assert.match(String(c.answer.sdp), /^c=IN IP4 127\.0\.0\.1\r$/m);
    c.close();
    const bad = await q.ng.request({
      command: 'offer',
      'call-id': 'dir-bad',
      'from-tag': 'a',
      sdp: 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n',
      direction: ['int', 'nowhere'],
    });
    assert.equal(bad.result, 'error');
    assert.match(String(bad['error-reason']), /Unknown interface 'nowhere'/);
  } finally {
    await q.stop();
  }
});
