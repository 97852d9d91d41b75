import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  type BValue,
  BencodeError,
  bencodeDecode,
  bencodeDecodePrefix,
  bencodeEncode,
} from '../../src/wire/bencode.js';

test('encodes with sorted keys and decodes unsorted keys', () => {
  assert.equal(bencodeEncode({ b: 1, a: 'x', c: ['y', 2] }).toString(), 'd1:a1:x1:bi1e1:cl1:yi2eee');
  assert.deepEqual({ ...(bencodeDecode(Buffer.from('d1:bi1e1:a1:xe')) as object) }, { b: 1, a: 'x' });
});

test('byte strings that are not UTF-8 stay bytes (a binary blob survives)', () => {
  const audio = Buffer.from([0x52, 0x49, 0x46, 0x46, 0xff, 0xfe, 0x00, 0x80]);
  const d = bencodeDecode(bencodeEncode({ blob: audio, text: 'héllo' })) as Record<string, BValue>;
  assert.ok(Buffer.isBuffer(d.blob));
  assert.deepEqual(d.blob, audio);
  assert.equal(d.text, 'héllo');
});

test('negative integers and empty containers', () => {
  assert.equal(bencodeDecode(Buffer.from('i-42e')), -42);
  assert.deepEqual(bencodeDecode(Buffer.from('le')), []);
  assert.deepEqual({ ...(bencodeDecode(Buffer.from('de')) as object) }, {});
});

test('truncation is reported as incomplete, garbage as malformed', () => {
  for (const s of ['d3:abc', 'l1:a', 'i12', '10:abc', 'd']) {
    assert.throws(
      () => bencodeDecode(Buffer.from(s)),
      (e: unknown) => e instanceof BencodeError && e.incomplete,
      s,
    );
  }
  for (const s of ['x', 'di1e1:ae', 'i1x2e', 'ie', ':a']) {
    assert.throws(
      () => bencodeDecode(Buffer.from(s)),
      (e: unknown) => e instanceof BencodeError && !e.incomplete,
      s,
    );
  }
});

test('deep nesting is refused, not a stack overflow', () => {
  const deep = Buffer.from('l'.repeat(10000) + 'e'.repeat(10000));
  assert.throws(() => bencodeDecode(deep), BencodeError);
});

test('a "__proto__" key stays plain data', () => {
  const v = bencodeDecode(Buffer.from('d9:__proto__d1:xi1eee')) as Record<string, BValue>;
  assert.equal(({} as Record<string, unknown>).x, undefined);
  assert.ok(Object.hasOwn(v, '__proto__'));
});

const bvalue: fc.Arbitrary<BValue> = fc.letrec((tie) => ({
  v: fc.oneof(
    { depthSize: 'small' },
    fc.string(),
    fc.integer(),
    fc.array(tie('v'), { maxLength: 4 }),
    fc.dictionary(fc.string(), tie('v'), { maxKeys: 4 }),
  ),
})).v as fc.Arbitrary<BValue>;

test('property: encode then decode is the identity', () => {
  fc.assert(
    fc.property(bvalue, (v) => {
      assert.deepEqual(JSON.stringify(bencodeDecode(bencodeEncode(v))), JSON.stringify(normalise(v)));
    }),
  );
});

function normalise(v: BValue): unknown {
  if (Array.isArray(v)) return v.map(normalise);
  if (typeof v === 'object' && !Buffer.isBuffer(v)) {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) out[k] = normalise(v[k]!);
    return out;
  }
  return v;
}

test('property: random bytes never throw anything but BencodeError', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
      try {
        bencodeDecodePrefix(Buffer.from(bytes));
      } catch (e) {
        assert.ok(e instanceof BencodeError, String(e));
      }
    }),
    { numRuns: 2000 },
  );
});

test('agrees with the npm bencode package on random values', async () => {
  const oracle = (await import('bencode')).default;
  fc.assert(
    fc.property(bvalue, (v) => {
      assert.deepEqual(bencodeEncode(v), Buffer.from(oracle.encode(v)));
    }),
  );
});
