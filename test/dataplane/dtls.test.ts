/**
 * DTLS-SRTP handshakes in the addon (src/native/dtls.c): between two of our own endpoints, and as the server
 * of OpenSSL's command-line client over UDP, whose exported SRTP keying material must equal ours.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { type DtlsHandle, loadNativeRelay, loadError } from '../../src/dataplane/native/addon.js';

const addon = loadNativeRelay();
const skip = addon?.dtlsNew ? false : `MISSING: native addon (${loadError || 'no DTLS in it'})`;
const haveOpenssl = spawnSync('openssl', ['version']).status === 0;

test("our client and server agree on SRTP keys and see each other's certificate", { skip }, () => {
  const a = addon!;
  const server = a.dtlsNew!(true)!;
  const client = a.dtlsNew!(false)!;
  let toServer = a.dtlsFeed!(client, null).out;
  assert.ok(toServer.length >= 1, 'the client starts with a ClientHello');
  assert.equal(a.dtlsSrtp!(server), undefined, 'no keys before the handshake');
  const states: number[] = [];
  for (let round = 0; round < 10 && toServer.length > 0; round++) {
    const toClient: Buffer[] = [];
    for (const d of toServer) {
      const r = a.dtlsFeed!(server, d);
      toClient.push(...r.out);
      states.push(r.state);
    }
    toServer = [];
    for (const d of toClient) {
      const r = a.dtlsFeed!(client, d);
      toServer.push(...r.out);
      states.push(r.state);
    }
    for (const d of [...toServer, ...toClient]) assert.ok(d.length <= 1200, `datagram of ${d.length} bytes`);
  }
  const s = a.dtlsSrtp!(server);
  const c = a.dtlsSrtp!(client);
  assert.ok(s && c, `both connected (states ${states.join(',')})`);
  assert.equal(s.profile, 1, 'AES_CM_128_HMAC_SHA1_80, the first we offer');
  assert.equal(s.material.length, 60);
  assert.deepEqual(s.material, c.material);
  assert.deepEqual(s.peerFingerprint, a.dtlsFingerprint!());
  assert.equal(a.dtlsTimeoutMs!(server), -1, 'no retransmission timer once connected');
  // Garbage after the handshake is an error for that endpoint, not a crash.
  const bad = a.dtlsFeed!(server, Buffer.from([23, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 1, 0, 3, 1, 2, 3]));
  assert.ok(bad.state === 1 || bad.state === 2, String(bad.state));
});

test('during the handshake the retransmission timer is armed, and stray datagrams are ignored', {
  skip,
}, () => {
  const a = addon!;
  const server = a.dtlsNew!(true)!;
  const client = a.dtlsNew!(false)!;
  const hello = a.dtlsFeed!(client, null).out;
  const flight = hello.flatMap((d) => a.dtlsFeed!(server, d).out);
  assert.ok(flight.length > 0);
  const ms = a.dtlsTimeoutMs!(server);
  assert.ok(ms > 0 && ms <= 1000, `timer armed: ${ms} ms`);
  // Not due yet: nothing is resent.
  assert.deepEqual(a.dtlsOnTimeout!(server).out, []);
  // RFC 6347: records that do not parse are dropped; the handshake goes on and completes.
  assert.deepEqual(a.dtlsFeed!(server, Buffer.from('not dtls')), { out: [], state: 0 });
  let toServer = flight.flatMap((d) => a.dtlsFeed!(client, d).out);
  while (toServer.length)
    toServer = toServer.flatMap((d) => a.dtlsFeed!(server, d).out).flatMap((d) => a.dtlsFeed!(client, d).out);
  assert.equal(a.dtlsSrtp!(server)?.material.length, 60);
});

test('as the server of `openssl s_client -dtls1_2 -use_srtp`: the same exported SRTP keys', {
  skip: skip || (!haveOpenssl && 'MISSING PEER: openssl command not installed'),
}, async () => {
  const a = addon!;
  const dir = mkdtempSync(join(tmpdir(), 'sipmedia-dtls-'));
  const sock = createSocket('udp4');
  try {
    const key = join(dir, 'k.pem');
    const cert = join(dir, 'c.pem');
    const gen = spawnSync('openssl', [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '1',
      '-subj',
      '/CN=peer',
    ]);
    assert.equal(gen.status, 0, String(gen.stderr));
    const fp = spawnSync('openssl', ['x509', '-in', cert, '-noout', '-fingerprint', '-sha256'], {
      encoding: 'utf8',
    }).stdout;
    const peerFp = Buffer.from(/=([0-9A-F:]+)/.exec(fp)![1]!.replaceAll(':', ''), 'hex');

    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
    const h: DtlsHandle = a.dtlsNew!(true)!;
    const ours = new Promise<{ profile: number; material: Buffer; peerFingerprint: Buffer }>(
      (resolve, reject) => {
        sock.on('message', (m, from) => {
          const r = a.dtlsFeed!(h, m);
          for (const d of r.out) sock.send(d, from.port, from.address);
          if (r.state === 2) reject(new Error(r.error));
          const k = r.state === 1 ? a.dtlsSrtp!(h) : undefined;
          if (k) resolve(k);
        });
      },
    );
    const client = spawn(
      'openssl',
      [
        's_client',
        '-dtls1_2',
        '-connect',
        `127.0.0.1:${sock.address().port}`,
        '-cert',
        cert,
        '-key',
        key,
        '-use_srtp',
        'SRTP_AES128_CM_SHA1_80',
        '-keymatexport',
        'EXTRACTOR-dtls_srtp',
        '-keymatexportlen',
        '60',
      ],
      { stdio: ['pipe', 'pipe', 'pipe'] },
    );
    let out = '';
    client.stdout.on('data', (d) => {
      out += d;
    });
    const exited = new Promise((r) => client.on('exit', r));
    const killer = setTimeout(() => client.kill('SIGKILL'), 10_000);
    try {
      const k = await ours;
      client.stdin.end(); // s_client leaves at the end of its input
      await exited;
      assert.match(out, /SRTP Extension negotiated, profile=SRTP_AES128_CM_SHA1_80/);
      const theirs = /Keying material: ([0-9A-F]+)/.exec(out)?.[1];
      assert.equal(k.material.toString('hex').toUpperCase(), theirs);
      assert.deepEqual(k.peerFingerprint, peerFp, 'the peer certificate we saw is the one it used');
    } finally {
      clearTimeout(killer);
      client.kill();
    }
  } finally {
    sock.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
