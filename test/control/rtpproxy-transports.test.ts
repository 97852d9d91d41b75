/**
 * RTPproxy transports and timeouts: the UDP reply cache answers retransmits without re-executing,
 * unix/cunix/tcp stream sockets, timeout notifications only to allowed targets, garbage on every port.
 */
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { connect, createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { startTestDaemon } from './daemon.js';
import { rtppStream, rtppStreamPipelined, rtppUdp } from './rtpp-client.js';

function listenUnix(path: string): Promise<{ server: Server; lines: string[]; connections: () => number }> {
  const lines: string[] = [];
  let connections = 0;
  const server = createServer((c) => {
    connections++;
    let buf = '';
    c.on('data', (d) => {
      buf += d;
    });
    c.on('end', () => lines.push(...buf.split('\n').filter((l) => l !== '')));
  });
  return new Promise((resolve) =>
    server.listen(path, () => resolve({ server, lines, connections: () => connections })),
  );
}

describe('RTPproxy transports', { concurrency: false }, () => {
  test('UDP: a retransmitted command (same cookie) gets the same reply and runs once', async () => {
    const d = await startTestDaemon();
    try {
      const s = createSocket('udp4');
      const replies: string[] = [];
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`got ${replies.length} replies`)), 3000);
        s.on('message', (m) => {
          replies.push(m.toString());
          if (replies.length === 3) {
            clearTimeout(t);
            resolve();
          }
        });
        s.bind(0, '127.0.0.1', () => {
          for (let i = 0; i < 3; i++) s.send('rtx1 U rtx-call 127.0.0.1 6000 ft;1', d.udpPort, '127.0.0.1');
        });
      });
      s.close();
      assert.equal(new Set(replies).size, 1, `replies differ: ${replies.join(' | ')}`);
      assert.match(replies[0]!, /^rtx1 \d+ 127\.0\.0\.1\n$/);
      assert.equal(await rtppUdp(d.udpPort, 'G nsess_created ncmds_rcvd'), '1 2');
    } finally {
      await d.stop();
    }
  });

  test('stream sockets: unix (one command, no newline needed), cunix and tcp (pipelined)', async () => {
    const d = await startTestDaemon();
    try {
      const c = await import('node:net');
      const unixReply = await new Promise<string>((resolve, reject) => {
        const s = c.connect(d.unixPath, () => s.write('V'));
        let out = '';
        s.on('data', (x) => {
          out += x;
        });
        s.on('close', () => resolve(out));
        s.on('error', reject);
      });
      assert.equal(unixReply, '20040107\n');
      assert.equal(await rtppStream(d.unixPath, ['VF 20080403']), '1\n');
      const tcp = await rtppStreamPipelined(
        d.tcpPort,
        ['V', 'U tcp-call 127.0.0.1 6000 a', 'Q tcp-call a', 'garbage'],
        4,
      );
      assert.equal(tcp[0], '20040107');
      assert.match(tcp[1]!, /^\d+ 127\.0\.0\.1$/);
      assert.match(tcp[2]!, /^\d+ 0 0 0 0$/);
      assert.equal(tcp[3], 'E9');
      const { connect } = c;
      const cunix = await new Promise<string[]>((resolve, reject) => {
        const s = connect(d.cunixPath, () => s.write('V\nD tcp-call a\nD tcp-call a\n'));
        let out = '';
        s.on('data', (x) => {
          out += x;
          const lines = out.split('\n').slice(0, -1);
          if (lines.length === 3) {
            s.end();
            resolve(lines);
          }
        });
        s.on('error', reject);
      });
      assert.deepEqual(cunix, ['20040107', '0', '0']);
    } finally {
      await d.stop();
    }
  });

  test('timeout notifications go to allowed targets only; without --notify-allow U with a target is E75', async () => {
    const off = await startTestDaemon();
    try {
      assert.equal(await rtppUdp(off.udpPort, 'U n-call 127.0.0.1 6000 ft unix:/tmp/x.sock tag'), 'E75');
      assert.equal(await rtppUdp(off.udpPort, 'VF 20081224'), '0');
    } finally {
      await off.stop();
    }
    const probe = await startTestDaemon();
    const allowedPath = join(probe.dir, 'allowed.sock');
    const otherPath = join(probe.dir, 'other.sock');
    await probe.stop();
    const { mkdirSync } = await import('node:fs');
    mkdirSync(probe.dir, { recursive: true });
    const allowed = await listenUnix(allowedPath);
    const other = await listenUnix(otherPath);
    const d = await startTestDaemon([
      `--notify-allow=unix:${allowedPath}`,
      '--timeout=1',
      '--offer-timeout=1',
      '--delete-delay=0',
    ]);
    try {
      assert.equal(await rtppUdp(d.udpPort, 'VF 20081224'), '1');
      // The not-allowed call is created first: had it been notified, that would have come first.
      assert.match(
        await rtppUdp(d.udpPort, `U n-other 127.0.0.1 6000 ft unix:${otherPath} other%20tag`),
        /^\d+ /,
      );
      assert.match(
        await rtppUdp(d.udpPort, `U n-call 127.0.0.1 6002 ft unix:${allowedPath} my%20tag`),
        /^\d+ /,
      );
      for (let i = 0; i < 60 && allowed.lines.length === 0; i++) await new Promise((r) => setTimeout(r, 100));
      assert.deepEqual(allowed.lines, ['my tag']);
      assert.equal(d.daemon.engine.calls.size, 0, 'both calls timed out');
      assert.equal(other.connections(), 0, 'a target not in --notify-allow was contacted');
      assert.equal(await rtppUdp(d.udpPort, 'Q n-call ft'), 'E50');
    } finally {
      await d.stop();
      allowed.server.close();
      other.server.close();
    }
  });

  test('garbage on every RTPproxy port: errors in RTPproxy terms, daemon keeps serving', async () => {
    const d = await startTestDaemon();
    try {
      const s = createSocket('udp4');
      await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
      for (let i = 0; i < 50; i++) {
        const junk = Buffer.alloc(1 + ((i * 37) % 300));
        for (let j = 0; j < junk.length; j++) junk[j] = (i * 131 + j * 7) & 0xff;
        s.send(junk, d.udpPort, '127.0.0.1');
      }
      s.send(Buffer.alloc(20_000, 0x41), d.udpPort, '127.0.0.1');
      s.close();
      // A kept-open tcp connection answers an over-long command with E1 and goes on serving.
      assert.deepEqual(await rtppStreamPipelined(d.tcpPort, ['U '.repeat(5000), 'V'], 2), ['E1', '20040107']);
      assert.equal(await rtppStream(d.unixPath, ['\u0000\u0001\u0002 xyz']), 'E0\n');
      assert.equal(await rtppUdp(d.udpPort, 'V'), '20040107');
      assert.equal((await rtppStreamPipelined(d.tcpPort, ['V'], 1))[0], '20040107');
    } finally {
      await d.stop();
    }
  });

  test('a stream client pipelining more commands than we queue is disconnected; others are served', async () => {
    const d = await startTestDaemon();
    try {
      // Ends when the server closes the connection, or (without the bound) once all replies are in.
      const replies = await new Promise<string>((resolve, reject) => {
        let got = '';
        const c = connect(d.tcpPort, '127.0.0.1', () => c.write('V\n'.repeat(5000)));
        const t = setTimeout(() => c.destroy(), 10_000);
        c.on('data', (b) => {
          got += b.toString('latin1');
          if (got.split('\n').length > 5000) c.destroy();
        });
        c.on('close', () => {
          clearTimeout(t);
          resolve(got);
        });
        c.on('error', reject);
      });
      assert.ok(replies.split('\n').length < 5000, 'the connection was closed before 5000 replies');
      assert.equal((await rtppStreamPipelined(d.tcpPort, ['V'], 1))[0], '20040107');
    } finally {
      await d.stop();
    }
  });
});
