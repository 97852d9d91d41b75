/**
 * The core relay scenarios against both userspace dataplanes explicitly (`--dataplane=js` and
 * `--dataplane=native`), whatever the default is: RTP/RTCP both ways, learning, asymmetric, strict source,
 * rtcp-mux demultiplexing and the query counters.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { loadError, loadNativeRelay } from '../../src/dataplane/native/addon.js';
import { Endpoint, rtcpRR, rtp } from '../helpers/endpoint.js';
import { type RunningProxy, startProxy } from '../helpers/proxy.js';
import { setupCall } from '../proxy/call-setup.js';

const nativeSkip = loadNativeRelay() ? false : `MISSING PEER: native relay addon not built (${loadError})`;
if (nativeSkip) console.log(nativeSkip);

for (const mode of ['js', 'native'] as const) {
  describe(`--dataplane=${mode}`, { skip: mode === 'native' ? nativeSkip : false }, () => {
    let p: RunningProxy;
    before(async () => {
      p = await startProxy([`--dataplane=${mode}`, '--delete-delay=0', '--num-threads=2', '--log-level=6']);
    });
    after(async () => {
      assert.equal(await p.stop(), 0);
    });

    test('the daemon runs the asked dataplane', () => {
      if (mode === 'native') assert.match(p.output(), /dataplane: native, 2 worker threads/);
      else assert.doesNotMatch(p.output(), /dataplane: native/);
    });

    test('RTP and RTCP both ways, symmetric, counted in query', async () => {
      const c = await setupCall(p);
      try {
        c.a.send(rtp(0, 1, 1, 0xa), c.toProxyFromA.rtp);
        const r = await c.b.next();
        assert.deepEqual(r.msg, rtp(0, 1, 1, 0xa));
        assert.equal(r.from.port, c.toProxyFromB.rtp);
        c.b.send(rtp(0, 2, 2, 0xb), c.toProxyFromB.rtp);
        assert.equal((await c.a.next()).from.port, c.toProxyFromA.rtp);
        c.aRtcp.send(rtcpRR(0xa), c.toProxyFromA.rtcp);
        assert.deepEqual((await c.bRtcp.next()).msg, rtcpRR(0xa));
        c.bRtcp.send(rtcpRR(0xb), c.toProxyFromB.rtcp);
        assert.deepEqual((await c.aRtcp.next()).msg, rtcpRR(0xb));
        const q = await p.ng.request({ command: 'query', 'call-id': c.callId });
        const totals = q.totals as { RTP: { packets: number }; RTCP: { packets: number } };
        assert.equal(totals.RTP.packets, 2);
        assert.equal(totals.RTCP.packets, 2);
      } finally {
        c.close();
      }
    });

    test('learning: replies go to the real source, which query reports as confirmed', async () => {
      const c = await setupCall(p);
      const real = await Endpoint.open(p.spare[70]!);
      try {
        real.send(rtp(0, 1, 1, 0xa), c.toProxyFromA.rtp);
        await c.b.next();
        c.b.send(rtp(0, 2, 2, 0xb), c.toProxyFromB.rtp);
        assert.equal((await real.next()).msg.readUInt16BE(2), 2);
        assert.equal(c.a.pending(), 0);
        const q = await p.ng.request({ command: 'query', 'call-id': c.callId });
        assert.match(JSON.stringify(q), new RegExp(`"port":${real.port}`));
        assert.match(JSON.stringify(q), /confirmed/);
      } finally {
        real.close();
        c.close();
      }
    });

    test('asymmetric: no learning', async () => {
      const c = await setupCall(p, { offerExtra: { flags: ['asymmetric'] } });
      const real = await Endpoint.open(p.spare[71]!);
      try {
        real.send(rtp(0, 1, 1, 0xa), c.toProxyFromA.rtp);
        await c.b.next();
        c.b.send(rtp(0, 2, 2, 0xb), c.toProxyFromB.rtp);
        assert.equal((await c.a.next()).msg.readUInt16BE(2), 2);
        assert.equal(real.pending(), 0);
      } finally {
        real.close();
        c.close();
      }
    });

    test('strict source drops a third party', async () => {
      const c = await setupCall(p, { offerExtra: { flags: ['strict source'] } });
      const intruder = await Endpoint.open(p.spare[72]!);
      try {
        c.a.send(rtp(0, 1, 1, 0xa), c.toProxyFromA.rtp);
        await c.b.next();
        intruder.send(rtp(0, 99, 99, 0xbad), c.toProxyFromA.rtp);
        c.a.send(rtp(0, 2, 2, 0xa), c.toProxyFromA.rtp);
        assert.equal((await c.b.next()).msg.readUInt32BE(8), 0xa);
        c.b.send(rtp(0, 3, 3, 0xb), c.toProxyFromB.rtp);
        assert.equal((await c.a.next()).msg.readUInt32BE(8), 0xb);
        assert.equal(intruder.pending(), 0);
      } finally {
        intruder.close();
        c.close();
      }
    });

    test('rtcp-mux demux: RTCP crosses between the RTP and RTCP ports', async () => {
      const c = await setupCall(p, { aSdpExtra: 'a=rtcp-mux\r\n', offerExtra: { 'rtcp-mux': ['demux'] } });
      try {
        c.a.send(rtcpRR(0xa), c.toProxyFromA.rtp);
        assert.deepEqual((await c.bRtcp.next()).msg, rtcpRR(0xa));
        c.bRtcp.send(rtcpRR(0xb), c.toProxyFromB.rtcp);
        assert.deepEqual((await c.a.next()).msg, rtcpRR(0xb));
      } finally {
        c.close();
      }
    });
  });
}
