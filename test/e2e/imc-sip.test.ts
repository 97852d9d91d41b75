/**
 * Acceptance 1: a test UA over UDP plays alice, bob, carol (and dave, erin) against the imc service: every
 * command, broadcasts to the others and not back to the sender, private rooms, roles and every refusal.
 * The service runs in this process so that `glue.idle()` tells when all its MESSAGEs were answered.
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
let httpPort: number;

before(async () => {
  const base = reservePortBlock();
  httpPort = base + 2;
  svc = await startImcService(
    {
      domain: DOMAIN,
      listen: { host: '127.0.0.1', port: base },
      db: ':memory:',
      outboundProxy: `sip:127.0.0.1:${base + 1}`,
      extraHeaders: { 'P-Flags': '3' },
      http: { host: '127.0.0.1', port: httpPort },
      t1: 100,
    },
    silentLogger,
  );
  ua = await ImcUa.start(base + 1, DOMAIN, base);
});

after(async () => {
  ua?.close();
  await svc?.stop();
});

type Triple = [to: string, from: string, body: string];

/** Sends and waits until the service has had every MESSAGE it sent answered; returns them sorted. */
async function say(user: string, to: string, body: string, status = 200): Promise<Triple[]> {
  ua.clear();
  assert.equal(await ua.send(user, to, body), status, `${user} -> ${to}: ${body}`);
  await svc.glue.idle();
  return ua.inbox.map((m): Triple => [m.to, m.from, m.body]).sort();
}

const all = (users: string[], from: string, body: string): Triple[] =>
  users.map((u): Triple => [u, from, body]).sort();

async function members(room: string): Promise<string[]> {
  const r = await svc.store.getRoom(room, DOMAIN);
  if (!r) return [];
  return (await svc.store.listMembers(r.id)).map((m) => `${m.user}:${m.flag}`);
}

test('create, join, broadcast, members, rooms', async () => {
  ua.clear();
  assert.equal(await ua.send('alice', 'chat-manager', '#create room1', { callId: 'call-create-1' }), 200);
  await svc.glue.idle();
  assert.equal(ua.inbox.length, 1);
  const created = ua.inbox[0];
  assert.equal(created?.to, 'alice');
  assert.equal(created?.from, 'room1');
  assert.equal(created?.body, T.ROOM_CREATED);
  assert.equal(created?.inReplyTo, 'call-create-1');
  assert.equal(created?.contentType, 'text/plain');
  assert.equal(created?.requestUri, `sip:alice@${DOMAIN}`);
  assert.match(created?.toHeader ?? '', new RegExp(`^<sip:alice@${DOMAIN}>`));
  assert.ok(
    created?.headers.some((h) => h.name === 'P-Flags' && h.value === '3'),
    'extra headers sent',
  );

  assert.deepEqual(
    await say('bob', 'room1', '#join'),
    all(['alice', 'bob'], 'room1', '*** [bob] has joined the room'),
  );
  assert.deepEqual(
    await say('carol', 'room1', '#JOIN'),
    all(['alice', 'bob', 'carol'], 'room1', T.joined('carol')),
  );

  ua.clear();
  assert.equal(await ua.send('alice', 'room1', 'hello', { contentType: 'text/plain;charset=UTF-8' }), 200);
  await svc.glue.idle();
  assert.deepEqual(
    ua.inbox.map((m) => [m.to, m.from, m.body, m.contentType]).sort(),
    [
      ['bob', 'room1', '[alice]: hello', 'text/plain;charset=UTF-8'],
      ['carol', 'room1', '[alice]: hello', 'text/plain;charset=UTF-8'],
    ],
    'relayed to the others only, Content-Type kept',
  );

  assert.deepEqual(await say('bob', 'room1', '#members'), [
    ['bob', 'room1', 'Members:\n*[alice]\n[bob]\n[carol]'],
  ]);
  assert.deepEqual(await say('carol', 'room1', '#list'), [
    ['carol', 'room1', 'Members:\n*[alice]\n[bob]\n[carol]'],
  ]);
  assert.deepEqual(await say('bob', 'chat-manager', '#rooms'), [['bob', 'chat-manager', 'Rooms:\n[room1]']]);
  assert.deepEqual(await say('bob', 'room1', '#join'), [['bob', 'room1', T.ALREADY_JOINED]]);
  assert.deepEqual(await say('bob', 'chat-manager', '#create room1'), [
    ['bob', 'chat-manager', T.ROOM_EXISTS_MEMBER],
  ]);
  const help = await say('carol', 'room1', '#help');
  assert.equal(help.length, 1);
  for (const c of [
    'create',
    'join',
    'invite',
    'add',
    'modify',
    'accept',
    'reject',
    'remove',
    'members',
    'rooms',
    'leave',
    'destroy',
  ])
    assert.match(help[0]?.[2] ?? '', new RegExp(`\\r\\n#${c} `), c);
});

test('plain members are refused every management command; nothing changes', async () => {
  const before = await members('room1');
  assert.deepEqual(await say('bob', 'room1', '#invite dave'), [['bob', 'room1', T.INVITE_REFUSED]]);
  assert.deepEqual(await say('bob', 'room1', '#add dave'), [['bob', 'room1', T.ADD_REFUSED]]);
  assert.deepEqual(await say('bob', 'room1', '#remove carol'), [['bob', 'room1', T.REMOVE_REFUSED]]);
  assert.deepEqual(await say('bob', 'room1', '#modify carol admin'), [['bob', 'room1', T.MODIFY_REFUSED]]);
  assert.deepEqual(await say('bob', 'room1', '#destroy'), [['bob', 'room1', T.DESTROY_REFUSED]]);
  assert.deepEqual(await say('dave', 'room1', 'hi all'), [['dave', 'room1', T.NOT_MEMBER]]);
  assert.deepEqual(await say('dave', 'room1', '#members'), [['dave', 'room1', T.NOT_MEMBER]]);
  assert.deepEqual(await say('dave', 'room1', '#invite erin'), [['dave', 'room1', T.NOT_MEMBER]]);
  assert.deepEqual(await say('dave', 'room1', '#destroy'), [['dave', 'room1', T.NOT_MEMBER]]);
  assert.deepEqual(await say('dave', 'nosuchroom', 'hi'), [['dave', 'nosuchroom', T.ROOM_NOT_FOUND]]);
  assert.deepEqual(await say('dave', 'chat-manager', 'hi'), [['dave', 'chat-manager', T.MANAGER_TEXT('#')]]);
  assert.deepEqual(await members('room1'), before);
});

test('modify makes an admin, who may add and remove but not touch the owner or destroy', async () => {
  assert.deepEqual(
    await say('alice', 'room1', '#modify bob admin'),
    all(['alice', 'bob', 'carol'], 'room1', T.modified('bob', 'admin')),
  );
  assert.deepEqual(await say('bob', 'room1', '#members'), [
    ['bob', 'room1', 'Members:\n*[alice]\n~[bob]\n[carol]'],
  ]);
  assert.deepEqual(
    await say('bob', 'room1', '#add dave'),
    all(['alice', 'bob', 'carol', 'dave'], 'room1', T.joined('dave')),
  );
  assert.deepEqual(await say('bob', 'room1', '#add dave'), [['bob', 'room1', T.alreadyMember('dave')]]);
  assert.deepEqual(
    await say('bob', 'room1', '#remove dave'),
    [...all(['alice', 'bob', 'carol'], 'room1', T.left('dave')), ['dave', 'room1', T.REMOVED]].sort(),
  );
  assert.deepEqual(await say('bob', 'room1', '#remove dave'), [['bob', 'room1', T.notAMember('dave')]]);
  assert.deepEqual(await say('bob', 'room1', '#remove alice'), [['bob', 'room1', T.OWNER_NOT_REMOVABLE]]);
  assert.deepEqual(await say('bob', 'room1', '#modify alice member'), [
    ['bob', 'room1', T.OWNER_ONLY_BY_OWNER],
  ]);
  assert.deepEqual(await say('bob', 'room1', '#modify carol owner'), [
    ['bob', 'room1', T.OWNER_ONLY_BY_OWNER],
  ]);
  assert.deepEqual(await say('bob', 'room1', '#destroy'), [['bob', 'room1', T.DESTROY_REFUSED]]);
  assert.deepEqual(
    await say('alice', 'room1', '#modify bob member'),
    all(['alice', 'bob', 'carol'], 'room1', T.modified('bob', 'member')),
  );
  assert.deepEqual(await members('room1'), ['alice:1', 'bob:0', 'carol:0']);
});

test('leave: the member is told too, then gone', async () => {
  assert.deepEqual(
    await say('carol', 'room1', '#exit'),
    all(['alice', 'bob', 'carol'], 'room1', T.left('carol')),
  );
  assert.deepEqual(await say('carol', 'room1', 'still here?'), [['carol', 'room1', T.NOT_MEMBER]]);
  assert.deepEqual(await say('alice', 'room1', 'hi'), [['bob', 'room1', '[alice]: hi']]);
});

test('private room: join attempt, invite, accept, reject, undeliverable invitation', async () => {
  assert.deepEqual(await say('alice', 'chat-manager', '#create priv private'), [
    ['alice', 'priv', T.ROOM_CREATED],
  ]);
  assert.deepEqual(await say('carol', 'chat-manager', '#create priv'), [
    ['carol', 'chat-manager', T.ROOM_EXISTS_PRIVATE],
  ]);
  assert.deepEqual(await say('carol', 'priv', '#join'), [
    ['alice', 'priv', T.joinAttempt('carol')],
    ['carol', 'priv', T.PRIVATE_BY_INVITATION],
  ]);
  assert.deepEqual(await members('priv'), ['alice:1']);
  assert.deepEqual(await say('carol', 'priv', '#accept'), [['carol', 'priv', T.NOT_INVITED]]);
  assert.deepEqual(await say('alice', 'priv', '#invite carol'), [
    ['carol', 'priv', T.invitation('alice', '#')],
  ]);
  assert.deepEqual(await say('alice', 'priv', '#invite carol'), [
    ['alice', 'priv', T.alreadyInvited('carol')],
  ]);
  assert.deepEqual(
    await say('carol', 'priv', 'can I talk?'),
    [['carol', 'priv', T.NOT_MEMBER]],
    'invited is not joined',
  );
  assert.deepEqual(await say('carol', 'priv', '#accept'), all(['alice', 'carol'], 'priv', T.joined('carol')));
  assert.deepEqual(await say('alice', 'priv', '#invite sip:bob@chat.example.com priv'), [
    ['bob', 'priv', T.invitation('alice', '#')],
  ]);
  assert.deepEqual(await say('bob', 'priv', '#deny'), []);
  assert.deepEqual(await say('bob', 'priv', '#accept'), [['bob', 'priv', T.NOT_INVITED]]);
  assert.deepEqual(await members('priv'), ['alice:1', 'carol:0']);
  // An invitation answered 404 is withdrawn and the inviter told.
  ua.answer.set('erin', 404);
  const out = await say('alice', 'priv', '#invite erin');
  assert.deepEqual(out, [
    ['alice', 'priv', T.notRegistered('erin', DOMAIN)],
    ['erin', 'priv', T.invitation('alice', '#')],
  ]);
  assert.deepEqual(await members('priv'), ['alice:1', 'carol:0']);
  // The room is private: the manager's room list still shows it (as imc does).
  assert.deepEqual(await say('bob', 'chat-manager', '#rooms'), [
    ['bob', 'chat-manager', 'Rooms:\n[priv]\n[room1]'],
  ]);
});

test('errors: unknown commands and missing or extra arguments', async () => {
  assert.deepEqual(await say('carol', 'priv', '#foo bar'), [
    ['carol', 'priv', "*** Invalid command 'foo' (send '#help' for help)"],
  ]);
  assert.deepEqual(await say('carol', 'priv', '#'), [['carol', 'priv', T.invalidCommand('', '#')]]);
  assert.deepEqual(await say('alice', 'priv', '#invite'), [
    ['alice', 'priv', T.missingArgument('#', 'invite <user_name> [<room_name>]')],
  ]);
  assert.deepEqual(await say('alice', 'priv', '#add'), [
    ['alice', 'priv', T.missingArgument('#', 'add <user_name> [<room_name>]')],
  ]);
  assert.deepEqual(await say('alice', 'priv', '#remove'), [
    ['alice', 'priv', T.missingArgument('#', 'remove <user_name> [<room_name>]')],
  ]);
  assert.deepEqual(await say('alice', 'priv', '#modify carol'), [
    ['alice', 'priv', T.missingArgument('#', 'modify <user_name> <owner|admin|member> [<room_name>]')],
  ]);
  assert.deepEqual(await say('alice', 'chat-manager', '#create'), [
    ['alice', 'chat-manager', T.missingArgument('#', 'create <room_name> [private]')],
  ]);
  assert.deepEqual(await say('alice', 'chat-manager', '#join'), [
    ['alice', 'chat-manager', T.missingArgument('#', 'join [<room_name>]')],
  ]);
  assert.deepEqual(await say('alice', 'priv', '#destroy priv now'), [
    ['alice', 'priv', T.tooManyArguments('#', 'destroy [<room_name>]')],
  ]);
  assert.deepEqual(await say('alice', 'priv', '#members nosuch'), [['alice', 'priv', T.ROOM_NOT_FOUND]]);
});

test('destroy by the owner, and an owner leaving destroys the room', async () => {
  assert.deepEqual(await say('alice', 'priv', '#destroy'), all(['alice', 'carol'], 'priv', T.ROOM_DESTROYED));
  assert.deepEqual(await say('alice', 'room1', '#leave'), all(['alice', 'bob'], 'room1', T.ROOM_DESTROYED));
  assert.deepEqual(await say('bob', 'chat-manager', '#rooms'), [['bob', 'chat-manager', 'Rooms:']]);
  assert.deepEqual(await say('bob', 'room1', 'anyone?'), [['bob', 'room1', T.ROOM_NOT_FOUND]]);
  // create_on_join: #join of a missing room creates it, owned by the joiner.
  assert.deepEqual(await say('bob', 'chat-manager', '#join lobby'), [['bob', 'lobby', T.ROOM_CREATED]]);
  assert.deepEqual(await members('lobby'), ['bob:1']);
});

test('SIP level: other methods 405, foreign domain 404, OPTIONS 200, non-text 415', async () => {
  assert.equal(await ua.send('bob', 'lobby', '', { method: 'INFO' }), 405);
  assert.equal(await ua.send('bob', 'lobby', '', { method: 'OPTIONS' }), 200);
  assert.equal(await ua.send('bob', 'lobby', 'hi', { domain: 'other.example.com' }), 404);
  assert.equal(await ua.send('bob', 'lobby', '<x/>', { contentType: 'application/im-iscomposing+xml' }), 415);
});

test('HTTP ops and metrics', async () => {
  const rooms = await (await fetch(`http://127.0.0.1:${httpPort}/rooms`)).json();
  assert.deepEqual(rooms, { rooms: [{ name: 'lobby', domain: DOMAIN, private: false, members: 1 }] });
  const m = (await (await fetch(`http://127.0.0.1:${httpPort}/rooms/lobby/members`)).json()) as {
    members: unknown[];
  };
  assert.deepEqual(m.members, [{ user: 'bob', domain: DOMAIN, role: 'owner', invited: false }]);
  assert.equal((await fetch(`http://127.0.0.1:${httpPort}/rooms/nosuch/members`)).status, 404);
  const metrics = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
  assert.match(metrics, /^active_rooms 1$/m);
  assert.match(metrics, /^imc_messages_received_total\{kind="text"\} \d+$/m);
  assert.match(metrics, /^imc_messages_sent_total\{result="ok"\} \d+$/m);
  assert.match(metrics, /^imc_commands_total\{command="create"\} \d+$/m);
  assert.match(metrics, /^imc_requests_rejected_total\{reason="method"\} 1$/m);
});
