import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ImcStore } from '../../src/store/imc-store.js';
import { migrateToLatest } from '../../src/store/migrations.js';
import { MEMBER_ADMIN, MEMBER_INVITED, MEMBER_OWNER, ROOM_PRIVATE } from '../../src/store/schema.js';
import { openSqlStore } from '../../src/store/sql.js';

const alice = { user: 'alice', domain: 'd.example' };
const bob = { user: 'bob', domain: 'd.example' };

test('rooms and members: create, unique, list, flags, delete (in-memory SQLite)', async (t) => {
  const sql = await openSqlStore(':memory:');
  t.after(() => sql.close());
  const s = new ImcStore(sql.db);
  const room = await s.createRoom('chat-1', 'd.example', ROOM_PRIVATE, alice, MEMBER_OWNER);
  assert.ok(room);
  assert.equal(room.flag, ROOM_PRIVATE);
  // A second create of the same room loses (the other node's create won).
  assert.equal(await s.createRoom('chat-1', 'd.example', 0, bob, MEMBER_OWNER), undefined);
  assert.equal((await s.getMember(room.id, alice))?.flag, MEMBER_OWNER);
  assert.equal(await s.addMember(room.id, bob, MEMBER_INVITED), true);
  assert.equal(await s.addMember(room.id, bob, 0), false, 'duplicate member refused');
  assert.deepEqual(
    (await s.listRooms()).map((r) => [r.name, r.members]),
    [['chat-1', 1]],
    'invited users are not counted',
  );
  await s.setMemberFlag(room.id, bob, MEMBER_ADMIN);
  assert.equal((await s.listRooms('d.example'))[0]?.members, 2);
  assert.deepEqual((await s.listRooms('other.example')).length, 0);
  assert.deepEqual(
    (await s.listMembers(room.id)).map((m) => [m.user, m.flag]),
    [
      ['alice', MEMBER_OWNER],
      ['bob', MEMBER_ADMIN],
    ],
  );
  await s.removeMember(room.id, bob);
  assert.equal(await s.countMembers(room.id), 1);
  assert.equal(await s.countRooms(), 1);
  await s.deleteRoom(room.id);
  assert.equal(await s.countRooms(), 0);
  assert.equal(await s.countMembers(room.id), 0);
  assert.equal(await s.addMember(room.id, bob, 0), false, 'no members for a deleted room');
});

test('a SQLite file keeps rooms across reopen; migrations run once', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'imc-store-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const url = `sqlite:${join(dir, 'imc.sqlite')}`;
  const a = await openSqlStore(url);
  await new ImcStore(a.db).createRoom('lobby', 'd.example', 0, alice, MEMBER_OWNER);
  await a.close();
  const b = await openSqlStore(url);
  t.after(() => b.close());
  assert.deepEqual(await migrateToLatest(b.db as never, 'sqlite'), [], 'nothing left to migrate');
  const rooms = await new ImcStore(b.db).listRooms();
  assert.deepEqual(
    rooms.map((r) => [r.name, r.domain, r.members]),
    [['lobby', 'd.example', 1]],
  );
});
