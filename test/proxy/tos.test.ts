/**
 * TOS of relayed media (`--tos`, ng `TOS`), read off the wire by tshark on loopback: the proxy's own packets
 * must carry it, whatever the sender used.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { loadError, loadNativeRelay } from '../../src/dataplane/native/addon.js';
import { rtp } from '../helpers/endpoint.js';
import { startProxy } from '../helpers/proxy.js';
import { type TestCall, setupCall } from './call-setup.js';

const skip =
  process.env.SIPMEDIA_DATAPLANE === 'js'
    ? 'TOS needs the native dataplane (SIPMEDIA_DATAPLANE=js)'
    : !loadNativeRelay()
      ? `MISSING PEER: native relay addon not built (${loadError})`
      : spawnSync('tshark', ['--version']).status !== 0
        ? 'MISSING PEER: tshark not installed'
        : process.getuid?.() !== 0
          ? 'MISSING PEER: capturing on loopback needs root'
          : false;
if (skip) console.log(skip);

/** The TOS byte of the first three packets the proxy sends to B's RTP port, captured while A talks. */
async function tosSeenAtB(c: TestCall): Promise<string[]> {
  const tshark = spawn(
    'tshark',
    ['-i', 'lo', '-l', '-n', '-c', '3', '-f', `udp dst port ${c.b.port}`, '-T', 'fields', '-e', 'ip.dsfield'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  let err = '';
  tshark.stdout.on('data', (d) => {
    out += d;
  });
  const exited = new Promise<void>((r) => tshark.on('exit', () => r()));
  try {
    // tshark says on stderr when its capture is running.
    await new Promise<void>((resolve, reject) => {
      tshark.stderr.on('data', (d) => {
        err += d;
        if (err.includes('Capturing on')) resolve();
      });
      tshark.on('exit', () => reject(new Error(`tshark ended before capturing: ${err}`)));
    });
    let running = true;
    void exited.then(() => {
      running = false;
    });
    // tshark reports the capture before its filter is attached, so A talks like a phone (one packet per
    // 20 ms, each awaited at B) until tshark has its three packets; at most 5 s of media.
    for (let i = 0; running && i < 250; i++) {
      c.a.send(rtp(0, 100 + i, 160 * i, 0x7050), c.toProxyFromA.rtp, c.toProxyFromA.address);
      await c.b.next();
      await new Promise((r) => setTimeout(r, 20));
    }
    if (running) throw new Error(`tshark captured fewer than 3 packets: ${out}${err}`);
    await exited;
  } finally {
    tshark.kill();
  }
  return out.trim().split('\n');
}

test("--tos marks relayed media; a call's TOS key overrides it for that call", { skip }, async () => {
  const p = await startProxy(['--tos=184', '--dataplane=native']);
  const calls: TestCall[] = [];
  try {
    const plain = await setupCall(p);
    calls.push(plain);
    assert.deepEqual(await tosSeenAtB(plain), ['0xb8', '0xb8', '0xb8'], 'DSCP EF from --tos=184');
    const own = await setupCall(p, { offerExtra: { TOS: 32 } });
    calls.push(own);
    assert.equal(own.offer.warning, undefined);
    assert.deepEqual(await tosSeenAtB(own), ['0x20', '0x20', '0x20'], "the call's TOS");
    const bad = await p.ng.request({
      command: 'offer',
      'call-id': 'tos-bad',
      'from-tag': 'x',
      sdp: 'v=0',
      TOS: 300,
    });
    assert.equal(bad.result, 'error');
    assert.match(String(bad['error-reason']), /Invalid TOS/);
  } finally {
    for (const c of calls) c.close();
    await p.stop();
  }
});
