import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { PromptError } from '../../src/media/prompt.js';
import { PromptCache, type PromptFileStat } from '../../src/media/prompt-cache.js';
import { createFilePromptCache, resolveInMediaRoot } from '../../src/media/prompt-file.js';
import { makeWav, toneChannels } from './audio-helpers.js';

function fakeFs() {
  const files = new Map<string, { stat: PromptFileStat; samples: number }>();
  const loads: string[] = [];
  const cache = (maxBytes: number) =>
    new PromptCache({
      maxBytes,
      stat: async (p) => {
        const f = files.get(p);
        if (!f) throw new PromptError(`missing ${p}`);
        return f.stat;
      },
      load: async (p) => {
        loads.push(p);
        return new Int16Array(files.get(p)!.samples);
      },
    });
  return { files, loads, cache };
}

test('hits, LRU eviction by bytes, and invalidation by mtime/size', async () => {
  const fs = fakeFs();
  fs.files.set('a', { stat: { mtimeMs: 1, size: 10 }, samples: 100 }); // 200 bytes
  fs.files.set('b', { stat: { mtimeMs: 1, size: 10 }, samples: 100 });
  fs.files.set('c', { stat: { mtimeMs: 1, size: 10 }, samples: 100 });
  const c = fs.cache(450);
  const a1 = await c.get('a');
  assert.equal(await c.get('a'), a1, 'same array from cache');
  await c.get('b');
  await c.get('a'); // a is now most recent
  await c.get('c'); // evicts b (least recent), not a
  assert.deepEqual(fs.loads, ['a', 'b', 'c']);
  assert.equal(c.stats().bytes, 400);
  await c.get('a');
  await c.get('b');
  assert.deepEqual(fs.loads, ['a', 'b', 'c', 'b']);
  fs.files.get('a')!.stat = { mtimeMs: 2, size: 10 }; // file changed
  assert.notEqual(await c.get('a'), a1);
  assert.equal(fs.loads.at(-1), 'a');
  assert.ok(c.stats().bytes <= 450);
});

test('concurrent gets share one load; failures are not cached; oversize is served uncached', async () => {
  const fs = fakeFs();
  fs.files.set('a', { stat: { mtimeMs: 1, size: 1 }, samples: 10 });
  fs.files.set('big', { stat: { mtimeMs: 1, size: 1 }, samples: 1000 });
  const c = fs.cache(100);
  const [x, y] = await Promise.all([c.get('a'), c.get('a')]);
  assert.equal(x, y);
  assert.equal(fs.loads.length, 1);
  await assert.rejects(c.get('nope'), PromptError);
  assert.equal((await c.get('big')).length, 1000);
  await c.get('big');
  assert.equal(fs.loads.filter((p) => p === 'big').length, 2);
  assert.equal(c.stats().entries, 1);
});

test('file cache reads, decodes and re-reads a changed file; media root confinement', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'sipmedia-prompts-'));
  const outside = mkdtempSync(join(tmpdir(), 'sipmedia-outside-'));
  t.after(() => {
    rmSync(root, { recursive: true, force: true });
    rmSync(outside, { recursive: true, force: true });
  });
  mkdirSync(join(root, 'sub'));
  writeFileSync(join(root, 'sub', 'tone.wav'), makeWav(toneChannels(1000, 16000, 0.5, 1), 16000, 'pcm16'));
  writeFileSync(join(outside, 'secret.wav'), 'x');
  symlinkSync(join(outside, 'secret.wav'), join(root, 'link.wav'));
  writeFileSync(join(root, 'junk.wav'), 'not audio');

  const path = await resolveInMediaRoot(root, 'sub/tone.wav');
  const cache = createFilePromptCache(1 << 20);
  const s = await cache.get(path);
  assert.equal(s.length, 4000);
  assert.equal(await cache.get(path), s);
  writeFileSync(path, makeWav(toneChannels(1000, 16000, 1, 1), 16000, 'pcm16'));
  utimesSync(path, new Date(), new Date(Date.now() + 5000));
  assert.equal((await cache.get(path)).length, 8000);

  for (const bad of [
    '../' + outside.split('/').pop() + '/secret.wav',
    '/etc/passwd',
    'link.wav',
    '.',
    'missing.wav',
  ]) {
    await assert.rejects(resolveInMediaRoot(root, bad), PromptError, bad);
  }
  await assert.rejects(cache.get(join(root, 'junk.wav')), /unknown audio format/);
  await assert.rejects(cache.get(join(root, 'sub')), PromptError);
});
