import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeMp3, isMp3, Mp3Error, readyWithin } from '../../src/media/mp3.js';
import { toMonoInt16 } from '../../src/media/prompt.js';
import { dominance, lameMp3, makeWav, toneChannels } from './audio-helpers.js';

test('decodes a lame-encoded 44.1 kHz stereo tone', async (t) => {
  const mp3 = lameMp3(makeWav(toneChannels(1000, 44100, 1, 2), 44100, 'pcm16'), ['-b', '128']);
  if (!mp3) {
    t.skip('MISSING PEER: lame not installed');
    return;
  }
  assert.equal(isMp3(mp3), true);
  const d = await decodeMp3(mp3);
  assert.equal(d.sampleRate, 44100);
  assert.equal(d.channels.length, 2);
  // lame adds encoder delay/padding: about a second of audio, give or take a few frames.
  assert.ok(Math.abs(d.channels[0]!.length - 44100) < 4000, String(d.channels[0]!.length));
  const mono = toMonoInt16(d);
  assert.ok(dominance(mono, 1000, [500, 2000]) > 100);
});

test('garbage is Mp3Error', async () => {
  await assert.rejects(decodeMp3(Buffer.from('ID3 but nothing else')), Mp3Error);
  await assert.rejects(decodeMp3(Buffer.alloc(1000, 0xff)), Mp3Error);
  assert.equal(isMp3(Buffer.from('RIFF')), false);
});

test("a decoder that never starts is an Mp3Error, not a hang (the package's start-up has no failure path)", async () => {
  await assert.rejects(readyWithin(new Promise(() => {}), 20), /did not start within 20 ms/);
  await readyWithin(Promise.resolve(), 20);
});
