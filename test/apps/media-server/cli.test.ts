/** `sipmedia media-server` options, usage errors (exit 2) and the --play configuration end to end. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { startMediaServer } from '../../../src/apps/media-server/index.js';
import { parseMediaServerArgs, runMediaServer } from '../../../src/cli/media-server.js';
import { reservePortBlock } from '../../helpers/ports.js';
import {
  bodyOf,
  header,
  inDialog,
  invite,
  RawSipPeer,
  RtpSink,
  respondTo,
  startLine,
  writeToneWavFile,
} from './harness.js';

const base = reservePortBlock();
const dir = mkdtempSync(join(tmpdir(), 'ms-cli-'));
writeToneWavFile(join(dir, 'hello.wav'), 440, 44100, 2, 300);

async function quietly<T>(f: () => Promise<T>): Promise<T> {
  const err = console.error;
  const log = console.log;
  console.error = () => {};
  console.log = () => {};
  try {
    return await f();
  } finally {
    console.error = err;
    console.log = log;
  }
}

test('usage errors exit 2 with a reason; --help exits 0', async () => {
  const bad = [
    [],
    ['--listen=127.0.0.1:5060'],
    ['--listen=nowhere', '--rtp-ip=127.0.0.1'],
    ['--listen=127.0.0.1:5060', '--rtp-ip=localhost'],
    ['--listen=127.0.0.1:5060', '--rtp-ip=127.0.0.1', '--rtp-port-min=40000', '--rtp-port-max=30000'],
    ['--listen=127.0.0.1:5060', '--rtp-ip=127.0.0.1', '--codecs=G729'],
    ['--listen=127.0.0.1:5060', '--rtp-ip=127.0.0.1', '--play=/nonexistent.wav'],
    ['--listen=127.0.0.1:5060', '--rtp-ip=127.0.0.1', '--bogus'],
    ['--listen=127.0.0.1:5060', '--rtp-ip=127.0.0.1', '--max-calls=x'],
  ];
  for (const argv of bad) assert.equal(await quietly(() => runMediaServer(argv)), 2, argv.join(' '));
  assert.equal(await quietly(() => runMediaServer(['--help'])), 0);
});

test('options parse, both --opt=value and --opt value', () => {
  const r = parseMediaServerArgs([
    '--listen',
    '[::1]:5070',
    '--rtp-ip=::1',
    '--rtp-port-min=20000',
    '--rtp-port-max=20100',
    `--media-dir=${dir}`,
    '--play=hello.wav',
    '--codecs=pcma,pcmu',
    '--tcp',
  ]);
  assert.equal(r.help, false);
  if (r.help) return;
  assert.deepEqual(r.options.listen, { host: '::1', port: 5070 });
  assert.deepEqual(r.options.codecs, ['PCMA', 'PCMU']);
  assert.equal(r.options.play, 'hello.wav');
  assert.equal(r.options.tcp, true);
  assert.equal(r.options.ptime, 20);
});

test('--play: every call is answered, the file played (44.1 kHz stereo -> 8 kHz) and hung up', async () => {
  const r = parseMediaServerArgs([
    `--listen=127.0.0.1:${base}`,
    '--rtp-ip=127.0.0.1',
    `--rtp-port-min=${base + 100}`,
    `--rtp-port-max=${base + 199}`,
    `--media-dir=${dir}`,
    '--play=hello.wav',
  ]);
  assert.ok(!r.help);
  if (r.help) return;
  const server = await startMediaServer({ ...r.options, t1: 20 });
  const peer = await RawSipPeer.open(base + 1);
  const sink = await RtpSink.open(base + 2);
  try {
    const p = {
      callId: 'cli-play',
      localPort: base + 1,
      serverPort: base,
      rtpPort: sink.port,
      codecs: '8 101',
    };
    peer.send(invite(p), base);
    const ok = peer.received[await peer.waitFor((t) => startLine(t).startsWith('SIP/2.0 200'))]!.text;
    assert.match(bodyOf(ok), /^a=rtpmap:8 PCMA\/8000\r$/m);
    peer.send(inDialog('ACK', ok, p, 1, 'z9hG4bK-cli-ack'), base);
    const bye = await peer.waitFor(
      (t) => startLine(t).startsWith('BYE ') && header(t, 'Call-ID') === 'cli-play',
    );
    peer.send(respondTo(peer.received[bye]!.text), base);
    assert.equal(sink.packets.length, 15, '300 ms of audio');
    assert.ok(sink.packets.every((c) => c.packet.header.payloadType === 8));
  } finally {
    await server.close(100);
    peer.close();
    sink.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
