/**
 * Acceptance 3: two `sipmedia imc` processes on one PostgreSQL. A room created through one node is joinable
 * through the other, and a message sent through either reaches the members.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { reservePortBlock } from '../helpers/ports.js';
import { postgresInstalled, startImc, startPostgres } from './fixtures/imc/processes.js';
import { ImcUa } from './fixtures/imc/ua.js';

const DOMAIN = 'chat.example.com';
const skip = postgresInstalled()
  ? false
  : 'MISSING PEER: PostgreSQL 15 (/usr/lib/postgresql/15/bin) not installed';
if (skip) console.log(skip);

test('two imc nodes share rooms and members through PostgreSQL', { skip, timeout: 90_000 }, async (t) => {
  const base = reservePortBlock();
  const pg = startPostgres(base + 10);
  t.after(() => pg.stop());
  const ua = await ImcUa.start(base + 3, DOMAIN, base);
  t.after(() => ua.close());
  const args = (port: number) => [
    `--listen=127.0.0.1:${port}`,
    `--domain=${DOMAIN}`,
    `--db=${pg.url}`,
    `--outbound-proxy=sip:127.0.0.1:${base + 3}`,
    '--log-level=4',
  ];
  // Both start (and migrate) at the same time: the migration lock must hold.
  const [a, b] = await Promise.all([startImc(args(base)), startImc(args(base + 1))]);
  t.after(() => a.stop());
  t.after(() => b.stop());

  assert.equal(await ua.send('alice', 'chat-manager', '#create shared', { port: base }), 200);
  await ua.waitFor('alice', '*** Room was created');
  assert.equal(await ua.send('bob', 'shared', '#join', { port: base + 1 }), 200);
  await ua.waitFor('alice', '*** [bob] has joined the room');
  await ua.waitFor('bob', '*** [bob] has joined the room');
  ua.clear();
  assert.equal(await ua.send('alice', 'shared', 'via node A', { port: base }), 200);
  await ua.waitFor('bob', '[alice]: via node A');
  assert.equal(await ua.send('bob', 'shared', 'via node B', { port: base + 1 }), 200);
  await ua.waitFor('alice', '[bob]: via node B');
  assert.equal(await ua.send('carol', 'chat-manager', '#rooms', { port: base + 1 }), 200);
  await ua.waitFor('carol', 'Rooms:\n[shared]');
  assert.equal(await ua.send('alice', 'shared', '#members', { port: base + 1 }), 200);
  await ua.waitFor('alice', 'Members:\n*[alice]\n[bob]');
  // Sender never gets its own text back, whichever node relays it.
  assert.equal(ua.for('alice').filter((m) => m.body.startsWith('[alice]')).length, 0);
  assert.equal(ua.for('bob').filter((m) => m.body.startsWith('[bob]')).length, 0);
});
