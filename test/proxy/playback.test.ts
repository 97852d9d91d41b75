import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { g711Decode } from '../../src/media/g711.js';
import { G722Decoder } from '../../src/media/g722.js';
import { toneDominance } from '../../src/media/goertzel.js';
import { rtp } from '../helpers/endpoint.js';
import { type RunningProxy, startProxy } from '../helpers/proxy.js';
import {
  collect,
  collectUntilQuiet,
  mediaCall,
  PCMA,
  PCMU,
  tempDir,
  toneWav,
  writeFixture,
} from './media-helpers.js';

const media = tempDir('sipmedia-play-');
let p: RunningProxy;
let haveMp3 = false;

before(async () => {
  writeFixture(media.dir, 'tone.wav', toneWav(1000, 44100, 2, 2));
  const lame = spawnSync('lame', ['--silent', join(media.dir, 'tone.wav'), join(media.dir, 'tone.mp3')]);
  haveMp3 = lame.status === 0;
  p = await startProxy([`--media-dir=${media.dir}`, '--delete-delay=0']);
});
after(async () => {
  await p.stop();
  media.remove();
});

/** `play media` of the 2 s tone.wav to the peer of `tag`. */
function playTone(callId: string, tag = 'tagA') {
  return p.ng.request({ command: 'play media', 'call-id': callId, 'from-tag': tag, file: 'tone.wav' });
}

function checkTone(pkts: Buffer[], pt: number, codec: 'PCMU' | 'PCMA'): void {
  for (const [i, k] of pkts.entries()) {
    assert.equal(k[1]! & 0x7f, pt, `packet ${i} payload type`);
    assert.equal(k.length, 12 + 160);
    if (i > 0) {
      const prev = pkts[i - 1]!;
      assert.equal((k.readUInt16BE(2) - prev.readUInt16BE(2)) & 0xffff, 1, `seq continuous at ${i}`);
      assert.equal((k.readUInt32BE(4) - prev.readUInt32BE(4)) >>> 0, 160, `timestamp +160 at ${i}`);
      assert.equal(k.readUInt32BE(8), prev.readUInt32BE(8), 'one SSRC');
    }
  }
  assert.equal(pkts[0]![1]! & 0x80, 0x80, 'marker on the first packet');
  const pcm = g711Decode(codec, Buffer.concat(pkts.slice(5, -5).map((k) => k.subarray(12))));
  const dom = toneDominance(pcm, 1000, [400, 700, 1300, 1600, 2000, 3000], 8000);
  assert.ok(dom > 100, `1 kHz dominates (ratio ${dom})`);
}

async function playAndCheck(codec: typeof PCMU, file: string, pt: number, name: 'PCMU' | 'PCMA') {
  const c = await mediaCall(p, codec);
  try {
    const r = await p.ng.request({ command: 'play media', 'call-id': c.callId, 'from-tag': 'tagA', file });
    assert.equal(r.result, 'ok', JSON.stringify(r));
    const duration = Number(r.duration);
    assert.ok(Math.abs(duration - 2000) <= 80, `duration ${duration}`);
    const expected = Math.ceil(duration / 20);
    const pkts = await collectUntilQuiet(c.b, 300);
    assert.ok(Math.abs(pkts.length - expected) <= 1, `${pkts.length} packets for ${duration} ms`);
    assert.ok(pkts.length >= 99);
    checkTone(pkts, pt, name);
    assert.equal(c.a.pending(), 0, 'the party whose media is replaced hears nothing');
  } finally {
    c.close();
  }
}

test('play media: 2 s 1 kHz 44.1 kHz stereo WAV into a PCMU call', async () => {
  await playAndCheck(PCMU, 'tone.wav', 0, 'PCMU');
});

test('play media: the same into a PCMA call', async () => {
  await playAndCheck(PCMA, 'tone.wav', 8, 'PCMA');
});

test('play media into a PCMU <-> PCMA transcoded call: each party hears the tone in its own codec', async () => {
  const c = await mediaCall(p, PCMU, { codec: { transcode: ['PCMA'] } }, undefined, PCMA);
  try {
    assert.equal((await playTone(c.callId, 'tagA')).result, 'ok');
    assert.equal((await playTone(c.callId, 'tagB')).result, 'ok');
    const [atB, atA] = await Promise.all([collectUntilQuiet(c.b, 300), collectUntilQuiet(c.a, 300)]);
    assert.ok(atB.length >= 99 && atA.length >= 99, `${atB.length} and ${atA.length} packets`);
    checkTone(atB, 8, 'PCMA');
    checkTone(atA, 0, 'PCMU');
  } finally {
    c.close();
  }
});

test('play media into a G.722 call: G.722 frames (lower band) that decode to the tone', async () => {
  const g722 = { formats: '9 101', rtpmaps: ['9 G722/8000', '101 telephone-event/8000'] };
  const c = await mediaCall(p, g722);
  try {
    const r = await playTone(c.callId);
    assert.equal(r.result, 'ok', JSON.stringify(r));
    const pkts = await collectUntilQuiet(c.b, 300);
    assert.ok(pkts.length >= 99, `${pkts.length} packets`);
    for (const k of pkts) assert.equal(k[1]! & 0x7f, 9);
    const pcm = new G722Decoder().decode(Buffer.concat(pkts.map((k) => k.subarray(12))));
    const dom = toneDominance(pcm.subarray(800, -800), 1000, [400, 700, 1300, 1600, 2000, 3000], 8000);
    assert.ok(dom > 100, `1 kHz dominates (ratio ${dom})`);
  } finally {
    c.close();
  }
});

test('play media: an MP3 source', async (t) => {
  if (!haveMp3) {
    t.skip('MISSING PEER: lame (cannot make the MP3 fixture)');
    return;
  }
  await playAndCheck(PCMU, 'tone.mp3', 0, 'PCMU');
});

test('play media: a binary blob arrives as bytes and plays', async () => {
  const c = await mediaCall(p, PCMU);
  try {
    const wav = toneWav(1000, 8000, 1, 0.4);
    assert.ok(!wav.toString('latin1').match(/^[\x00-\x7f]*$/), 'the WAV holds non-ASCII bytes');
    const r = await p.ng.request({
      command: 'play media',
      'call-id': c.callId,
      'from-tag': 'tagA',
      blob: wav,
    });
    assert.equal(r.result, 'ok', JSON.stringify(r));
    assert.ok(Math.abs(Number(r.duration) - 400) <= 20, `duration ${String(r.duration)}`);
    const pkts = await collectUntilQuiet(c.b, 300);
    assert.equal(pkts.length, 20);
    checkTone(pkts, 0, 'PCMU');
  } finally {
    c.close();
  }
});

test('repeat-times plays the file that often; repeat-duration loops it for that long, then stops', async () => {
  const wav = toneWav(1000, 8000, 1, 0.1).toString('base64'); // 5 frames of 20 ms
  for (const [opts, frames] of [
    [{ 'repeat-times': 3 }, 15],
    [{ 'repeat-duration': 330 }, 17],
    [{ 'repeat-duration': 330, 'repeat-times': 1 }, 17],
  ] as const) {
    const c = await mediaCall(p, PCMU);
    try {
      const r = await p.ng.request({
        command: 'play media',
        'call-id': c.callId,
        'from-tag': 'tagA',
        blob64: wav,
        ...opts,
      });
      assert.equal(r.result, 'ok', JSON.stringify(r));
      const pkts = await collectUntilQuiet(c.b, 300);
      assert.equal(pkts.length, frames, JSON.stringify(opts));
      checkTone(pkts, 0, 'PCMU');
    } finally {
      c.close();
    }
  }
});

test('playback into a relayed stream keeps seq and timestamps monotonic across start and stop', async () => {
  const c = await mediaCall(p);
  try {
    const ssrc = 0x1234;
    let seq = 40000;
    let ts = 1_000_000;
    const sendOne = () => {
      c.a.send(rtp(0, seq++, ts, ssrc, Buffer.alloc(160, 0x55)), c.toProxyFromA);
      ts += 160;
    };
    // 10 relayed packets, then a 0.3 s blob plays while A keeps sending, then A goes on alone.
    const blob64 = toneWav(1000, 8000, 1, 0.3).toString('base64');
    let sent = 0;
    await new Promise<void>((resolve, reject) => {
      const timer = setInterval(() => {
        sendOne();
        sent++;
        if (sent === 10) {
          p.ng
            .request({ command: 'play media', 'call-id': c.callId, 'from-tag': 'tagA', blob64 })
            .then((r) => assert.equal(r.result, 'ok', JSON.stringify(r)))
            .catch(reject);
        }
        if (sent >= 45) {
          clearInterval(timer);
          resolve();
        }
      }, 20);
    });
    const got = await collectUntilQuiet(c.b, 300);
    const fromA = got.filter((k) => k.subarray(12).equals(Buffer.alloc(160, 0x55))).length;
    const played = got.length - fromA;
    assert.ok(played >= 14 && played <= 15, `played ${played} frames`);
    assert.ok(fromA >= 10 + 10, `relayed before and after: ${fromA}`);
    // The first relayed packet after the playback comes after the played ones.
    const lastPlayed = got.findLastIndex((k) => !k.subarray(12).equals(Buffer.alloc(160, 0x55)));
    assert.ok(lastPlayed < got.length - 5, 'relayed packets follow the playback');
    for (let i = 1; i < got.length; i++) {
      const dSeq = (got[i]!.readUInt16BE(2) - got[i - 1]!.readUInt16BE(2)) & 0xffff;
      const dTs = (got[i]!.readUInt32BE(4) - got[i - 1]!.readUInt32BE(4)) | 0;
      assert.equal(dSeq, 1, `seq +1 at ${i}`);
      assert.ok(dTs > 0 && dTs < 8000, `timestamp moves forward at ${i} (${dTs})`);
      assert.equal(got[i]!.readUInt32BE(8), ssrc, 'the receiver sees one SSRC');
    }
  } finally {
    c.close();
  }
});

test('stop media replies last-frame-pos and ends the stream; query shows the playback', async () => {
  const c = await mediaCall(p);
  try {
    const r = await playTone(c.callId);
    assert.equal(r.result, 'ok');
    await collect(c.b, 10);
    const q = await p.ng.request({ command: 'query', 'call-id': c.callId });
    const tags = q.tags as Record<string, { playback?: { source: string } }>;
    assert.equal(tags.tagA?.playback?.source, 'tone.wav');
    const s = await p.ng.request({ command: 'stop media', 'call-id': c.callId, 'from-tag': 'tagA' });
    assert.equal(s.result, 'ok');
    const pos = Number(s['last-frame-pos']);
    assert.ok(pos >= 180 && pos < 1500, `last-frame-pos ${pos}`);
    const rest = await collectUntilQuiet(c.b, 200);
    assert.ok(rest.length < 10, `stream stops (${rest.length} more)`);
    const q2 = await p.ng.request({ command: 'query', 'call-id': c.callId });
    assert.equal((q2.tags as Record<string, { playback?: unknown }>).tagA?.playback, undefined);
  } finally {
    c.close();
  }
});

test('files outside --media-dir, missing files and unsupported codecs are refused', async () => {
  const c = await mediaCall(p);
  const g729 = await mediaCall(p, { formats: '18', rtpmaps: ['18 G729/8000'] });
  try {
    for (const file of ['../../etc/passwd', '/etc/passwd']) {
      const r = await p.ng.request({ command: 'play media', 'call-id': c.callId, 'from-tag': 'tagA', file });
      assert.equal(r.result, 'error');
      assert.match(String(r['error-reason']), /outside the media directory/);
    }
    const missing = await p.ng.request({
      command: 'play media',
      'call-id': c.callId,
      'from-tag': 'tagA',
      file: 'nope.wav',
    });
    assert.match(String(missing['error-reason']), /not found/);
    const noSel = await p.ng.request({ command: 'play media', 'call-id': c.callId, file: 'tone.wav' });
    assert.equal(noSel.result, 'error');
    const r = await p.ng.request({
      command: 'play media',
      'call-id': g729.callId,
      'from-tag': 'tagA',
      file: 'tone.wav',
    });
    assert.equal(r.result, 'error');
    assert.match(String(r['error-reason']), /G729.*not supported/);
    assert.equal(c.b.pending(), 0);
  } finally {
    c.close();
    g729.close();
  }
});

test('delete stops a running playback', async () => {
  const c = await mediaCall(p);
  try {
    await p.ng.request({ command: 'play media', 'call-id': c.callId, 'from-tag': 'tagA', file: 'tone.wav' });
    await collect(c.b, 3);
    const d = await p.ng.request({ command: 'delete', 'call-id': c.callId, 'from-tag': 'tagA' });
    assert.equal(d.result, 'ok');
    const rest = await collectUntilQuiet(c.b, 200);
    assert.ok(rest.length < 5, `no packets after delete (${rest.length})`);
  } finally {
    c.close();
  }
});
