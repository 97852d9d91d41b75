import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { g711Decode, g711Encode } from '../../src/media/g711.js';
import { G722Encoder } from '../../src/media/g722.js';
import { decodeWav } from '../../src/media/wav.js';
import { Endpoint, rtcpRR, rtp } from '../helpers/endpoint.js';
import { type RunningProxy, startProxy } from '../helpers/proxy.js';
import { assertTone, referenceTone } from '../helpers/tone.js';
import { collect, mediaCall, PCMA, tempDir } from './media-helpers.js';

const TONE = referenceTone(4000);

const rec = tempDir('sipmedia-rec-');
let p: RunningProxy;
let broken: RunningProxy;
let js: RunningProxy;
const haveTshark = spawnSync('tshark', ['--version']).status === 0;

before(async () => {
  p = await startProxy(['--delete-delay=0', `--recording-dir=${rec.dir}`]);
  js = await startProxy(['--delete-delay=0', `--recording-dir=${rec.dir}`, '--dataplane=js']);
  const file = join(rec.dir, 'not-a-directory');
  writeFileSync(file, 'x');
  broken = await startProxy(['--delete-delay=0', `--recording-dir=${join(file, 'sub')}`]);
});
after(async () => {
  await p.stop();
  await broken.stop();
  await js.stop();
  rec.remove();
});

/** A PCMU payload with no zero-decoding bytes (0xff, 0x7f), different per packet. */
const payload = (k: number) => Buffer.from(Array.from({ length: 160 }, (_, i) => (k * 7 + i * 3) % 0x7e));

test('record call: pcap per stream readable by tshark, WAV decodes to what was sent, metadata has the SDPs', async (t) => {
  const c = await mediaCall(p, undefined, { 'record call': 'yes', metadata: 'case=42' });
  try {
    const q0 = await p.ng.request({ command: 'query', 'call-id': c.callId });
    const r0 = q0.recording as { status: string; directory: string; error?: string };
    assert.equal(r0.status, 'recording', JSON.stringify(q0.recording));
    assert.equal(r0.error, undefined);
    const nA = 50;
    const nB = 30;
    for (let k = 0; k < nA; k++) c.a.send(rtp(0, 1000 + k, 8000 + k * 160, 0xa, payload(k)), c.toProxyFromA);
    await collect(c.b, nA);
    for (let k = 0; k < nB; k++)
      c.b.send(rtp(0, 7000 + k, 500 + k * 160, 0xb, payload(k + 100)), c.toProxyFromB);
    await collect(c.a, nB);
    const stop = await p.ng.request({ command: 'stop recording', 'call-id': c.callId });
    assert.equal(stop.result, 'ok');

    const dir = r0.directory;
    const files = readdirSync(dir).sort();
    assert.deepEqual(files, ['audio.wav', 'metadata.json', 'tagA-1.pcap', 'tagB-1.pcap']);

    const meta = JSON.parse(readFileSync(join(dir, 'metadata.json'), 'utf8'));
    assert.equal(meta['call-id'], c.callId);
    assert.equal(meta.metadata, 'case=42');
    assert.deepEqual(
      meta.tags.map((x: { tag: string }) => x.tag),
      ['tagA', 'tagB'],
    );
    assert.match(meta.tags[0].sdp, new RegExp(`m=audio ${c.a.port} RTP/AVP`));
    assert.match(meta.tags[1].sdp, new RegExp(`m=audio ${c.b.port} RTP/AVP`));
    assert.ok(meta.start && meta.end);

    // The WAV: channel 0 carries A's audio, channel 1 B's, each exactly as sent (decoded G.711).
    const wav = decodeWav(readFileSync(join(dir, 'audio.wav')));
    assert.equal(wav.sampleRate, 8000);
    assert.equal(wav.channels.length, 2);
    for (const [ch, n, first] of [
      [0, nA, 0],
      [1, nB, 100],
    ] as const) {
      const pcm = Int16Array.from(wav.channels[ch]!, (v) => Math.round(v * 32768));
      const sent = g711Decode('PCMU', Buffer.concat(Array.from({ length: n }, (_, k) => payload(k + first))));
      const start = pcm.findIndex((v) => v !== 0);
      assert.ok(start >= 0, `channel ${ch} has audio`);
      assert.deepEqual(
        pcm.subarray(start, start + sent.length),
        sent,
        `channel ${ch} decodes to what was sent`,
      );
    }

    if (!haveTshark) {
      t.diagnostic('MISSING PEER: tshark (pcap check skipped)');
      return;
    }
    // Recorded as the receiver got them: from the proxy's port facing the receiver.
    for (const [file, port, ssrc, n] of [
      ['tagA-1.pcap', c.toProxyFromB, '0x0000000a', nA],
      ['tagB-1.pcap', c.toProxyFromA, '0x0000000b', nB],
    ] as const) {
      const out = spawnSync(
        'tshark',
        ['-r', join(dir, file), '-d', `udp.port==${port},rtp`, '-q', '-z', 'rtp,streams'],
        {
          encoding: 'utf8',
        },
      );
      assert.equal(out.status, 0, out.stderr);
      const line = out.stdout.split('\n').find((l) => l.toLowerCase().includes(ssrc));
      assert.ok(line, `tshark sees the RTP stream ${ssrc}:\n${out.stdout}`);
      assert.match(
        line,
        new RegExp(`g711U\\s+${n}\\s+0 \\(0\\.0%\\)`),
        `all ${n} packets, none lost: ${line}`,
      );
    }
  } finally {
    c.close();
  }
});

test("record call: RTCP goes into the sender's pcap too, on both dataplanes", async (t) => {
  for (const proxy of [p, js]) {
    const c = await mediaCall(proxy, undefined, { 'record call': 'yes' });
    try {
      const q = await proxy.ng.request({ command: 'query', 'call-id': c.callId });
      const dir = (q.recording as { directory: string }).directory;
      for (let k = 0; k < 5; k++) c.a.send(rtp(0, 100 + k, k * 160, 0xa, payload(k)), c.toProxyFromA);
      await collect(c.b, 5);
      // A's receiver reports to the proxy's RTCP port (RTP port + 1); B's RTCP socket gets them after the tap.
      const bRtcp = await Endpoint.open(c.b.port + 1);
      try {
        for (let k = 0; k < 3; k++) c.a.send(rtcpRR(0xa), c.toProxyFromA + 1);
        await collect(bRtcp, 3);
      } finally {
        bRtcp.close();
      }
      assert.equal((await proxy.ng.request({ command: 'stop recording', 'call-id': c.callId })).result, 'ok');
      if (!haveTshark) {
        t.diagnostic('MISSING PEER: tshark (pcap check skipped)');
        return;
      }
      const out = spawnSync(
        'tshark',
        [
          '-r',
          join(dir, 'tagA-1.pcap'),
          '-d',
          `udp.port==${c.toProxyFromB + 1},rtcp`,
          '-Y',
          'rtcp',
          '-T',
          'fields',
          '-e',
          'rtcp.pt',
          '-e',
          'udp.dstport',
        ],
        { encoding: 'utf8' },
      );
      assert.equal(out.status, 0, out.stderr);
      assert.deepEqual(
        out.stdout.trim().split('\n'),
        Array(3).fill(`201\t${c.b.port + 1}`),
        "three receiver reports, as sent on to B's RTCP port",
      );
      assert.equal(readdirSync(dir).includes('audio.wav'), true);
    } finally {
      c.close();
    }
  }
});

test('record call on a G.722 <-> PCMA transcoded call: both directions decode to the tone in the WAV', async () => {
  const g722 = { formats: '9 101', rtpmaps: ['9 G722/8000', '101 telephone-event/8000'] };
  const c = await mediaCall(
    p,
    g722,
    { 'record call': 'yes', codec: { transcode: ['PCMA'] } },
    undefined,
    PCMA,
  );
  try {
    const q0 = await p.ng.request({ command: 'query', 'call-id': c.callId });
    const dir = (q0.recording as { directory: string }).directory;
    // A sends G.722 (B gets PCMA); B sends PCMA (A gets G.722). Recorded as the receivers got them.
    const enc = new G722Encoder();
    for (let k = 0; k < 25; k++) {
      const seg = TONE.subarray(160 * k, 160 * k + 160);
      c.a.send(rtp(9, 100 + k, 160 * k, 0xa, Buffer.from(enc.encode(seg))), c.toProxyFromA);
      await c.b.next();
      c.b.send(rtp(8, 300 + k, 160 * k, 0xb, Buffer.from(g711Encode('PCMA', seg))), c.toProxyFromB);
      await c.a.next();
    }
    assert.equal((await p.ng.request({ command: 'stop recording', 'call-id': c.callId })).result, 'ok');
    const wav = decodeWav(readFileSync(join(dir, 'audio.wav')));
    for (const ch of [0, 1]) {
      const pcm = Int16Array.from(wav.channels[ch]!, (v) => Math.round(v * 32768));
      const start = pcm.findIndex((v) => v !== 0);
      assert.ok(start >= 0, `channel ${ch} has audio`);
      assertTone(pcm.subarray(start, start + 4000), TONE, `channel ${ch}`);
    }
  } finally {
    c.close();
  }
});

test('an unwritable recording directory is reported in query and the call keeps forwarding', async () => {
  const c = await mediaCall(broken, undefined, { 'record call': 'yes' });
  try {
    for (let k = 0; k < 5; k++) c.a.send(rtp(0, k, k * 160, 0xa, payload(k)), c.toProxyFromA);
    const got = await collect(c.b, 5);
    assert.deepEqual(got.at(-1)!.subarray(12), payload(4));
    const q = await broken.ng.request({ command: 'query', 'call-id': c.callId });
    const r = q.recording as { error?: string };
    assert.match(String(r.error), /cannot create .*(ENOTDIR|EACCES|ENOENT)/);
  } finally {
    c.close();
  }
});

test('start, pause and stop recording by command', async () => {
  const c = await mediaCall(p);
  try {
    const none = await p.ng.request({ command: 'query', 'call-id': c.callId });
    assert.equal(none.recording, undefined);
    assert.equal((await p.ng.request({ command: 'start recording', 'call-id': c.callId })).result, 'ok');
    c.a.send(rtp(0, 1, 160, 0xa, payload(1)), c.toProxyFromA);
    await collect(c.b, 1);
    assert.equal((await p.ng.request({ command: 'pause recording', 'call-id': c.callId })).result, 'ok');
    c.a.send(rtp(0, 2, 320, 0xa, payload(2)), c.toProxyFromA);
    await collect(c.b, 1);
    const q = await p.ng.request({ command: 'query', 'call-id': c.callId });
    const r = q.recording as { status: string; packets: number; directory: string };
    assert.equal(r.status, 'paused');
    assert.equal(r.packets, 1, 'nothing recorded while paused');
    // Delete finishes the files.
    await p.ng.request({ command: 'delete', 'call-id': c.callId, 'from-tag': 'tagA' });
    const metaPath = join(r.directory, 'metadata.json');
    let meta: { end: string | null } | undefined;
    for (let i = 0; i < 50 && !meta?.end; i++) {
      await new Promise((res) => setTimeout(res, 20));
      if (existsSync(metaPath)) meta = JSON.parse(readFileSync(metaPath, 'utf8'));
    }
    assert.ok(meta?.end, 'metadata gets its end time when the call ends');
  } finally {
    c.close();
  }
});
