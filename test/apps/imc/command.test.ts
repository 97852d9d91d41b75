import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { paramToParty, validRoomName } from '../../../src/apps/imc/address.js';
import { clip, isCommand, parseCommand } from '../../../src/apps/imc/command.js';

test('commands: case-insensitive names, aliases, parameters from the first line only', () => {
  assert.deepEqual(parseCommand('#CREATE chat-1 Private', '#'), {
    name: 'create',
    word: 'CREATE',
    params: ['chat-1', 'Private'],
  });
  assert.equal(parseCommand('#deny', '#').name, 'reject');
  assert.equal(parseCommand('#exit', '#').name, 'leave');
  assert.equal(parseCommand('#list', '#').name, 'members', 'imc 5.6 maps #list to members');
  assert.equal(parseCommand('#rooms', '#').name, 'rooms');
  assert.deepEqual(parseCommand('#join\troom-1 \r\nsecond line words', '#').params, ['room-1']);
  assert.deepEqual(parseCommand('!invite bob', '!'), { name: 'invite', word: 'invite', params: ['bob'] });
  assert.equal(parseCommand('#constructor', '#').name, undefined, 'no prototype lookups');
  assert.equal(parseCommand('# join', '#').word, '');
  assert.equal(isCommand('#help', '#'), true);
  assert.equal(isCommand('hello #help', '#'), false);
});

test('parsing any line is bounded and never throws', () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 300 }), (s) => {
      const c = parseCommand(`#${s}`, '#');
      assert.ok(c.params.length <= 4);
      assert.ok(c.word.length <= 64);
    }),
  );
  assert.equal(parseCommand(`#create ${'x '.repeat(10_000)}`, '#').params.length, 4);
});

test('echoed input is clipped and made printable', () => {
  assert.equal(clip('a\u0000b\u001b'), 'a?b?');
  assert.equal(clip('x'.repeat(100)).length, 64);
});

test('user and room parameters complete the domain like imc', () => {
  assert.deepEqual(paramToParty('bob', 'chat.example.com'), { user: 'bob', domain: 'chat.example.com' });
  assert.deepEqual(paramToParty('bob@Other.Example', 'x'), { user: 'bob', domain: 'other.example' });
  assert.deepEqual(paramToParty('sip:bob@other.example', 'x'), { user: 'bob', domain: 'other.example' });
  for (const bad of [
    '',
    '@@',
    'sip:',
    'tel:+123',
    'bob@',
    'a b',
    'bob@h:5060',
    'sip:bob@h;transport=tcp',
    '<>',
  ])
    assert.equal(paramToParty(bad, 'chat.example.com'), undefined, bad);
  assert.equal(validRoomName('chat-1'), true);
  assert.equal(validRoomName('a/b'), false);
  assert.equal(validRoomName('x'.repeat(65)), false);
});
