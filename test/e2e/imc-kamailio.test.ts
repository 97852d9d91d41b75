/**
 * Acceptance 4: Kamailio 5.6 forwards users' MESSAGEs for chat-* to `sipmedia imc`, and the service's
 * MESSAGEs come back through Kamailio (its --outbound-proxy) to the users.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { reservePortBlock } from '../helpers/ports.js';
import { kamailioForImcInstalled, startImc, startKamailioForImc } from './fixtures/imc/processes.js';
import { ImcUa } from './fixtures/imc/ua.js';

const DOMAIN = 'chat.example.com';
const skip = kamailioForImcInstalled() ? false : 'MISSING PEER: kamailio (Debian package) not installed';
if (skip) console.log(skip);

test('a room conversation through Kamailio', { skip, timeout: 60_000 }, async (t) => {
  const base = reservePortBlock();
  const kamPort = base;
  const imcPort = base + 1;
  const uaPort = base + 2;
  const imc = await startImc([
    `--listen=127.0.0.1:${imcPort}`,
    `--domain=${DOMAIN}`,
    '--db=:memory:',
    `--outbound-proxy=sip:127.0.0.1:${kamPort}`,
    '--log-level=4',
  ]);
  t.after(() => imc.stop());
  const kam = await startKamailioForImc({ sipPort: kamPort, imcPort, uaPort });
  t.after(() => kam.stop());
  // The UA sends everything to Kamailio, never to the service directly.
  const ua = await ImcUa.start(uaPort, DOMAIN, kamPort);
  t.after(() => ua.close());

  assert.equal(await ua.send('alice', 'chat-manager', '#create chat-1', { callId: 'kam-create' }), 200);
  const created = await ua.waitFor('alice', '*** Room was created');
  assert.equal(created.from, 'chat-1');
  assert.equal(created.inReplyTo, 'kam-create');
  assert.ok(
    created.headers.filter((h) => h.name === 'Via').length >= 2,
    'came back through Kamailio (its Via on top of ours)',
  );
  assert.equal(await ua.send('bob', 'chat-1', '#join'), 200);
  await ua.waitFor('alice', '*** [bob] has joined the room');
  await ua.waitFor('bob', '*** [bob] has joined the room');
  assert.equal(await ua.send('carol', 'chat-1', '#join'), 200);
  await ua.waitFor('bob', '*** [carol] has joined the room');
  // Alice's copy travels separately and may come after Bob's: wait for it before clearing the inbox.
  await ua.waitFor('alice', '*** [carol] has joined the room');
  ua.clear();
  assert.equal(await ua.send('alice', 'chat-1', 'hello through kamailio'), 200);
  await ua.waitFor('bob', '[alice]: hello through kamailio');
  await ua.waitFor('carol', '[alice]: hello through kamailio');
  assert.equal(await ua.send('carol', 'chat-1', '#members'), 200);
  await ua.waitFor('carol', 'Members:\n*[alice]\n[bob]\n[carol]');
  assert.deepEqual(
    ua.for('alice').map((m) => m.body),
    [],
    'the sender gets nothing back',
  );
  assert.equal(await ua.send('bob', 'chat-1', '#leave'), 200);
  await ua.waitFor('alice', '*** [bob] has left the room');
  assert.equal(await ua.send('alice', 'chat-1', '#destroy'), 200);
  await ua.waitFor('carol', '*** Room has been destroyed');
});
