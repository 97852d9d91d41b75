import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { RtppFlagsError, parseRtppFlagsSyntax } from '../../src/wire/rtpp-flags.js';

test('tokens: bare words, key=value, [lists], [k=v dictionaries] nested, white space between', () => {
  assert.deepEqual(
    parseRtppFlagsSyntax(
      ' replace-origin\tlabel=caller  codec=[strip=[PCMA G722] transcode=[opus]] direction=[a b] x= [y]',
    ),
    [
      { word: 'replace-origin' },
      { key: 'label', value: 'caller' },
      { key: 'codec', value: { strip: ['PCMA', 'G722'], transcode: ['opus'] } },
      { key: 'direction', value: ['a', 'b'] },
      { key: 'x', value: '' },
      { word: '[y]' },
    ],
  );
  // A list with one k=v among plain items stays a list; `__proto__` never becomes a key.
  assert.deepEqual(parseRtppFlagsSyntax('a=[b c=d] e=[__proto__=x f=g]'), [
    { key: 'a', value: ['b', 'c=d'] },
    { key: 'e', value: { f: 'g' } },
  ]);
});

test('unbalanced, too deep or trailing brackets are RtppFlagsError', () => {
  assert.throws(() => parseRtppFlagsSyntax('codec=[strip=[PCMA]'), /Unbalanced '\['/);
  assert.throws(() => parseRtppFlagsSyntax('label=x]'), /Unbalanced '\]'/);
  assert.throws(() => parseRtppFlagsSyntax(`a=${'['.repeat(7)}${']'.repeat(7)}`), /too deeply/);
  assert.throws(() => parseRtppFlagsSyntax('a=[b]c'), RtppFlagsError);
});

test('fuzz: any string gives tokens or RtppFlagsError', () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 200 }), (s) => {
      try {
        parseRtppFlagsSyntax(s);
      } catch (e) {
        assert.ok(e instanceof RtppFlagsError, String(e));
      }
    }),
    { numRuns: 2000 },
  );
});
