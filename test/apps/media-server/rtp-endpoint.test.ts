import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { test } from 'node:test';
import { PortPool } from '../../../src/dataplane/port-pool.js';
import { RtpEndpoint } from '../../../src/dataplane/rtp-endpoint.js';
import { reservePortBlock } from '../../helpers/ports.js';

const base = reservePortBlock();

test('binds even ports of the pool, skips busy ones, releases on close', async () => {
  const busy = createSocket('udp4');
  await new Promise<void>((r) => busy.bind(base, '127.0.0.1', () => r()));
  const pool = new PortPool(base, base + 5);
  const a = await RtpEndpoint.open({ address: '127.0.0.1', pool });
  const b = await RtpEndpoint.open({ address: '127.0.0.1', pool });
  assert.deepEqual([a.localPort, b.localPort], [base + 2, base + 4]);
  await assert.rejects(RtpEndpoint.open({ address: '127.0.0.1', pool }), /no free RTP port/);
  a.close();
  a.close();
  assert.equal(pool.inUse, 1);
  b.close();
  busy.close();
});

test('latches onto the sender and sends back to it', async () => {
  const pool = new PortPool(base + 10, base + 19);
  const ep = await RtpEndpoint.open({ address: '127.0.0.1', pool });
  assert.equal(ep.send(Buffer.from('x')), false, 'no remote yet');
  ep.remote = { address: '127.0.0.1', port: 9 }; // from the SDP; the packet source wins
  const peer = createSocket('udp4');
  await new Promise<void>((r) => peer.bind(base + 30, '127.0.0.1', () => r()));
  const got = new Promise<Buffer>((r) => peer.once('message', (m) => r(m)));
  const echoed = new Promise<void>((r) => {
    ep.onPacket = (pkt) => {
      ep.send(pkt);
      r();
    };
  });
  peer.send(Buffer.from('hello'), ep.localPort, '127.0.0.1');
  await echoed;
  assert.deepEqual(ep.remote, { address: '127.0.0.1', port: base + 30 });
  assert.equal((await got).toString(), 'hello');
  assert.equal(ep.received, 1);
  assert.equal(ep.sent, 1);
  ep.close();
  assert.equal(ep.send(Buffer.from('x')), false);
  peer.close();
});
