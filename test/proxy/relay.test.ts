import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { loadError, loadNativeRelay } from '../../src/dataplane/native/addon.js';
import { Endpoint, rtcpRR, rtp } from '../helpers/endpoint.js';
import { type RunningProxy, startProxy } from '../helpers/proxy.js';
import { setupCall } from './call-setup.js';

const nativeSkip = loadNativeRelay() ? false : `MISSING PEER: native relay addon not built (${loadError})`;
if (nativeSkip) console.log(nativeSkip);

// The relay scenarios run against both userspace dataplanes, whatever the default is.
for (const mode of ['native', 'js'] as const) {
  describe(`relay, --dataplane=${mode}`, { skip: mode === 'native' ? nativeSkip : false }, () => {
    let p: RunningProxy;
    before(async () => {
      const threads = mode === 'native' ? ['--num-threads=2'] : [];
      p = await startProxy([`--dataplane=${mode}`, ...threads, '--delete-delay=0', '--log-level=6']);
    });
    after(async () => {
      assert.equal(await p.stop(), 0, 'SIGTERM ends the daemon with exit code 0');
    });

    test('the daemon runs the asked dataplane', () => {
      if (mode === 'native') assert.match(p.output(), /dataplane: native, 2 worker threads/);
      else assert.doesNotMatch(p.output(), /dataplane: native/);
    });

    test('RTP and RTCP are relayed both ways with payload and sequence intact', async () => {
      const c = await setupCall(p);
      try {
        const payload = Buffer.from('0123456789abcdef'.repeat(10));
        for (let i = 0; i < 5; i++) c.a.send(rtp(0, 1000 + i, 160 * i, 0xa, payload), c.toProxyFromA.rtp);
        for (let i = 0; i < 5; i++) {
          const r = await c.b.next();
          assert.deepEqual(r.msg, rtp(0, 1000 + i, 160 * i, 0xa, payload));
          assert.equal(r.from.port, c.toProxyFromB.rtp, 'B receives from the port it sends to (symmetric)');
        }
        c.b.send(rtp(0, 7, 1, 0xb), c.toProxyFromB.rtp);
        const back = await c.a.next();
        assert.deepEqual(back.msg, rtp(0, 7, 1, 0xb));
        assert.equal(back.from.port, c.toProxyFromA.rtp);

        c.aRtcp.send(rtcpRR(0xa), c.toProxyFromA.rtcp);
        assert.deepEqual((await c.bRtcp.next()).msg, rtcpRR(0xa));
        c.bRtcp.send(rtcpRR(0xb), c.toProxyFromB.rtcp);
        const rr = await c.aRtcp.next();
        assert.deepEqual(rr.msg, rtcpRR(0xb));
        assert.equal(rr.from.port, c.toProxyFromA.rtcp);

        const q = await p.ng.request({ command: 'query', 'call-id': c.callId });
        const totals = q.totals as { RTP: { packets: number }; RTCP: { packets: number } };
        assert.equal(totals.RTP.packets, 6);
        assert.equal(totals.RTCP.packets, 2);
      } finally {
        c.close();
      }
    });

    test('endpoint learning: replies go to where the party really sends from', async () => {
      const c = await setupCall(p);
      const real = await Endpoint.open(p.spare[60]!);
      try {
        real.send(rtp(0, 1, 1, 0xa), c.toProxyFromA.rtp);
        await c.b.next();
        c.b.send(rtp(0, 2, 2, 0xb), c.toProxyFromB.rtp);
        const r = await real.next();
        assert.equal(r.msg.readUInt16BE(2), 2);
        assert.equal(c.a.pending(), 0);
      } finally {
        real.close();
        c.close();
      }
    });

    test('asymmetric: no learning, replies go to the SDP address', async () => {
      const c = await setupCall(p, { offerExtra: { flags: ['asymmetric'] } });
      const real = await Endpoint.open(p.spare[61]!);
      try {
        real.send(rtp(0, 1, 1, 0xa), c.toProxyFromA.rtp);
        await c.b.next();
        c.b.send(rtp(0, 2, 2, 0xb), c.toProxyFromB.rtp);
        const r = await c.a.next();
        assert.equal(r.msg.readUInt16BE(2), 2);
        assert.equal(real.pending(), 0);
      } finally {
        real.close();
        c.close();
      }
    });

    test('strict source: a third party sending to our port gets nothing forwarded (RTP bleed)', async () => {
      const c = await setupCall(p, { offerExtra: { flags: ['strict source'] } });
      const intruder = await Endpoint.open(p.spare[62]!);
      try {
        c.a.send(rtp(0, 1, 1, 0xa), c.toProxyFromA.rtp);
        assert.equal((await c.b.next()).msg.readUInt32BE(8), 0xa);
        intruder.send(rtp(0, 99, 99, 0xbad), c.toProxyFromA.rtp);
        c.a.send(rtp(0, 2, 2, 0xa), c.toProxyFromA.rtp);
        const r = await c.b.next();
        assert.equal(
          r.msg.readUInt32BE(8),
          0xa,
          'the intruder packet was dropped, the next one from A passed',
        );
        c.b.send(rtp(0, 3, 3, 0xb), c.toProxyFromB.rtp);
        assert.equal((await c.a.next()).msg.readUInt32BE(8), 0xb, 'B to A still reaches A, not the intruder');
        assert.equal(intruder.pending(), 0);
      } finally {
        intruder.close();
        c.close();
      }
    });

    test('without strict source, a latched endpoint is not hijacked by a third party', async () => {
      const c = await setupCall(p);
      const intruder = await Endpoint.open(p.spare[63]!);
      try {
        c.a.send(rtp(0, 1, 1, 0xa), c.toProxyFromA.rtp);
        await c.b.next();
        intruder.send(rtp(0, 99, 99, 0xbad), c.toProxyFromA.rtp);
        await c.b.next();
        c.b.send(rtp(0, 3, 3, 0xb), c.toProxyFromB.rtp);
        assert.equal((await c.a.next()).msg.readUInt32BE(8), 0xb);
        assert.equal(intruder.pending(), 0);
      } finally {
        intruder.close();
        c.close();
      }
    });

    test('media handover: the endpoint follows a party that moves', async () => {
      const c = await setupCall(p, { offerExtra: { flags: ['media-handover'] } });
      const moved = await Endpoint.open(p.spare[64]!);
      try {
        c.a.send(rtp(0, 1, 1, 0xa), c.toProxyFromA.rtp);
        await c.b.next();
        moved.send(rtp(0, 2, 2, 0xa), c.toProxyFromA.rtp);
        await c.b.next();
        c.b.send(rtp(0, 3, 3, 0xb), c.toProxyFromB.rtp);
        assert.equal((await moved.next()).msg.readUInt16BE(2), 3);
      } finally {
        moved.close();
        c.close();
      }
    });

    test('rtcp-mux demux: A multiplexes, B does not; RTCP crosses between the RTP and RTCP ports', async () => {
      const c = await setupCall(p, { aSdpExtra: 'a=rtcp-mux\r\n', offerExtra: { 'rtcp-mux': ['demux'] } });
      try {
        assert.doesNotMatch(String(c.offer.sdp), /a=rtcp-mux/, 'demux: B is not offered mux');
        assert.match(String(c.answer.sdp), /a=rtcp-mux/, 'A gets mux accepted');
        assert.equal(c.toProxyFromA.rtcp, c.toProxyFromA.rtp, 'A is told RTCP shares the RTP port');
        c.a.send(rtcpRR(0xa), c.toProxyFromA.rtp);
        assert.deepEqual((await c.bRtcp.next()).msg, rtcpRR(0xa));
        c.bRtcp.send(rtcpRR(0xb), c.toProxyFromB.rtcp);
        const r = await c.a.next();
        assert.deepEqual(r.msg, rtcpRR(0xb), 'B RTCP reaches A on its RTP port');
        c.a.send(rtp(0, 5, 5, 0xa), c.toProxyFromA.rtp);
        assert.equal((await c.b.next()).msg.readUInt16BE(2), 5, 'RTP on the muxed port still goes to RTP');
      } finally {
        c.close();
      }
    });

    test('rtcp-mux pass-through, offer, require and reject shape the SDPs', async () => {
      const pass = await setupCall(p, { aSdpExtra: 'a=rtcp-mux\r\n', bSdpExtra: 'a=rtcp-mux\r\n' });
      assert.match(String(pass.offer.sdp), /a=rtcp-mux/);
      assert.match(String(pass.answer.sdp), /a=rtcp-mux/);
      pass.close();
      const offer = await setupCall(p, { offerExtra: { 'rtcp-mux': ['offer'] } });
      assert.match(String(offer.offer.sdp), /a=rtcp-mux/);
      assert.doesNotMatch(String(offer.answer.sdp), /a=rtcp-mux/, 'A never offered mux');
      offer.close();
      const req = await setupCall(p, { offerExtra: { 'rtcp-mux': ['require'] } });
      assert.equal(req.toProxyFromB.rtcp, req.toProxyFromB.rtp, 'require: a=rtcp carries the RTP port');
      req.close();
      const rej = await setupCall(p, {
        aSdpExtra: 'a=rtcp-mux\r\n',
        bSdpExtra: 'a=rtcp-mux\r\n',
        offerExtra: { 'rtcp-mux': ['reject'] },
      });
      assert.doesNotMatch(String(rej.answer.sdp), /a=rtcp-mux/, 'reject: mux refused towards the offerer');
      rej.close();
    });

    test('a re-offer keeps the ports; media keeps flowing', async () => {
      const c = await setupCall(p);
      try {
        const again = await p.ng.request({
          command: 'offer',
          'call-id': c.callId,
          'from-tag': 'tagA',
          'to-tag': 'tagB',
          sdp: (c.offer.sdp as string)
            .replace(/^m=audio \d+/m, `m=audio ${c.a.port}`)
            .replace(/c=IN IP4 \S+/g, 'c=IN IP4 127.0.0.1'),
        });
        assert.equal(again.result, 'ok');
        assert.match(String(again.sdp), new RegExp(`^m=audio ${c.toProxyFromB.rtp} `, 'm'));
        c.a.send(rtp(0, 9, 9, 0xa), c.toProxyFromA.rtp);
        assert.equal((await c.b.next()).msg.readUInt16BE(2), 9);
      } finally {
        c.close();
      }
    });

    test('forked offers get their own ports per via-branch; each answer works', async () => {
      const base = p.spare[40]!;
      const a = await Endpoint.open(base);
      const b1 = await Endpoint.open(base + 2);
      const b2 = await Endpoint.open(base + 4);
      const sdp = (port: number) =>
        `v=0\r\no=x 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio ${port} RTP/AVP 0\r\n`;
      const id = `fork-${process.pid}`;
      try {
        const o1 = await p.ng.request({
          command: 'offer',
          'call-id': id,
          'from-tag': 'A',
          'via-branch': 'z1',
          sdp: sdp(base),
        });
        const o2 = await p.ng.request({
          command: 'offer',
          'call-id': id,
          'from-tag': 'A',
          'via-branch': 'z2',
          sdp: sdp(base),
        });
        const port1 = Number(/^m=audio (\d+)/m.exec(String(o1.sdp))![1]);
        const port2 = Number(/^m=audio (\d+)/m.exec(String(o2.sdp))![1]);
        assert.notEqual(port1, port2);
        const a1 = await p.ng.request({
          command: 'answer',
          'call-id': id,
          'from-tag': 'A',
          'to-tag': 'B1',
          'via-branch': 'z1',
          sdp: sdp(base + 2),
        });
        const a2 = await p.ng.request({
          command: 'answer',
          'call-id': id,
          'from-tag': 'A',
          'to-tag': 'B2',
          'via-branch': 'z2',
          sdp: sdp(base + 4),
        });
        assert.equal(a1.result, 'ok');
        assert.equal(a2.result, 'ok');
        const toA = Number(/^m=audio (\d+)/m.exec(String(a2.sdp))![1]);
        b1.send(rtp(0, 1, 1, 0xb1), port1);
        assert.equal((await a.next()).msg.readUInt32BE(8), 0xb1);
        b2.send(rtp(0, 2, 2, 0xb2), port2);
        assert.equal((await a.next()).msg.readUInt32BE(8), 0xb2);
        a.send(rtp(0, 3, 3, 0xa), toA);
        assert.equal((await b2.next()).msg.readUInt32BE(8), 0xa, 'A reaches the branch that answered last');
        const q = await p.ng.request({ command: 'query', 'call-id': id });
        assert.deepEqual(Object.keys(q.tags as object).sort(), ['A', 'B1', 'B2']);
        const del = await p.ng.request({ command: 'delete', 'call-id': id, 'from-tag': 'A', 'to-tag': 'B1' });
        assert.equal(del.result, 'ok');
        const q2 = await p.ng.request({ command: 'query', 'call-id': id });
        assert.deepEqual(
          Object.keys(q2.tags as object).sort(),
          ['A', 'B2'],
          'deleting one branch keeps the other',
        );
      } finally {
        for (const e of [a, b1, b2]) e.close();
      }
    });
  });
}
