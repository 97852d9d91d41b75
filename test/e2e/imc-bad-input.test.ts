/**
 * Acceptance 5: garbage arguments, an oversized body and a non-UTF-8 body each get a clear reply and
 * change nothing in the database.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type ImcService, startImcService } from '../../src/apps/imc/service.js';
import * as T from '../../src/apps/imc/texts.js';
import { silentLogger } from '../../src/util/log.js';
import { reservePortBlock } from '../helpers/ports.js';
import { ImcUa } from './fixtures/imc/ua.js';

const DOMAIN = 'chat.example.com';
let svc: ImcService;
let ua: ImcUa;

before(async () => {
  const base = reservePortBlock();
  svc = await startImcService(
    {
      domain: DOMAIN,
      listen: { host: '127.0.0.1', port: base },
      db: ':memory:',
      outboundProxy: `sip:127.0.0.1:${base + 1}`,
      maxBody: 8192,
      t1: 100,
    },
    silentLogger,
  );
  ua = await ImcUa.start(base + 1, DOMAIN, base);
  assert.equal(await ua.send('alice', 'chat-manager', '#create room1'), 200);
  assert.equal(await ua.send('bob', 'room1', '#join'), 200);
  await svc.glue.idle();
});

after(async () => {
  ua?.close();
  await svc?.stop();
});

async function snapshot(): Promise<string> {
  const rooms = await svc.store.listRooms();
  const members = await Promise.all(rooms.map((r) => svc.store.listMembers(r.id)));
  return JSON.stringify({ rooms, members });
}

async function replyTo(user: string, to: string, body: string | Buffer, status = 200): Promise<string[]> {
  ua.clear();
  assert.equal(await ua.send(user, to, body), status);
  await svc.glue.idle();
  return ua.inbox.map((m) => `${m.to}|${m.body}`);
}

test('garbage arguments are refused with a reason', async () => {
  const before = await snapshot();
  const cases: [string, string, string][] = [
    ['chat-manager', '#create a/b<>', T.badRoomName('a/b<>')],
    ['chat-manager', '#create room2 public', T.badCreateFlag('public')],
    ['chat-manager', `#create ${'r'.repeat(65)}`, T.badRoomName('r'.repeat(61) + '...')],
    ['room1', '#invite @@@', T.badUser('@@@')],
    ['room1', '#add sip:', T.badUser('sip:')],
    ['room1', '#add tel:+4912345', T.badUser('tel:+4912345')],
    ['room1', '#modify bob king', T.badRole('king')],
    ['room1', '#remove bob nosuch%room', T.badRoomName('nosuch%room')],
    ['room1', '#join x y z', T.tooManyArguments('#', 'join [<room_name>]')],
    ['room1', `#invite ${'x '.repeat(3000)}`, T.tooManyArguments('#', 'invite <user_name> [<room_name>]')],
    ['room1', '#in\u0000vite bob', T.invalidCommand('in?vite', '#')],
    ['room1', '#rooms now', T.tooManyArguments('#', 'rooms')],
  ];
  for (const [to, body, text] of cases)
    assert.deepEqual(await replyTo('alice', to, body), [`alice|${text}`], body.slice(0, 40));
  assert.equal(await snapshot(), before);
});

test('an oversized body gets 413 and an explanation; nothing relayed', async () => {
  const before = await snapshot();
  const out = await replyTo('alice', 'room1', 'x'.repeat(9000), 413);
  assert.deepEqual(out, [`alice|${T.tooLarge(8192)}`]);
  // Exactly at the limit is fine: relayed as "[alice]: xxx...".
  const ok = await replyTo('alice', 'room1', 'y'.repeat(8192));
  assert.equal(ok.length, 1);
  assert.ok(ok[0]?.startsWith('bob|[alice]: yyy'));
  assert.equal(await snapshot(), before);
});

test('a body that is not UTF-8 gets 400 and an explanation; nothing relayed or changed', async () => {
  const before = await snapshot();
  const out = await replyTo('alice', 'room1', Buffer.from([0x23, 0x64, 0x65, 0x73, 0xff, 0xfe]), 400);
  assert.deepEqual(out, [`alice|${T.NOT_UTF8}`]);
  const out2 = await replyTo('alice', 'room1', Buffer.from([0x68, 0x69, 0xc3, 0x28]), 400);
  assert.deepEqual(out2, [`alice|${T.NOT_UTF8}`]);
  assert.equal(await snapshot(), before);
  // The service still works.
  assert.deepEqual(await replyTo('alice', 'room1', 'grüße'), ['bob|[alice]: grüße']);
});
