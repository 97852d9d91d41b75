/** Acceptance 2: rooms and members survive a restart of the service (SQLite file). */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { type ImcServiceConfig, startImcService } from '../../src/apps/imc/service.js';
import { silentLogger } from '../../src/util/log.js';
import { reservePortBlock } from '../helpers/ports.js';
import { ImcUa } from './fixtures/imc/ua.js';

const DOMAIN = 'chat.example.com';

test('rooms, members and roles survive a restart', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'imc-persist-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const base = reservePortBlock();
  const cfg: ImcServiceConfig = {
    domain: DOMAIN,
    listen: { host: '127.0.0.1', port: base },
    db: `sqlite:${join(dir, 'imc.sqlite')}`,
    outboundProxy: `sip:127.0.0.1:${base + 1}`,
    t1: 100,
  };
  const ua = await ImcUa.start(base + 1, DOMAIN, base);
  t.after(() => ua.close());

  let svc = await startImcService(cfg, silentLogger);
  try {
    assert.equal(await ua.send('alice', 'chat-manager', '#create room1'), 200);
    assert.equal(await ua.send('bob', 'room1', '#join'), 200);
    assert.equal(await ua.send('alice', 'chat-manager', '#create secret private'), 200);
    assert.equal(await ua.send('alice', 'secret', '#invite carol'), 200);
    assert.equal(await ua.send('alice', 'room1', '#modify bob admin'), 200);
    await svc.glue.idle();
  } finally {
    await svc.stop();
  }

  svc = await startImcService(cfg, silentLogger);
  t.after(() => svc.stop());
  ua.clear();
  assert.equal(await ua.send('bob', 'room1', 'back again'), 200);
  await ua.waitFor('alice', '[bob]: back again');
  assert.equal(await ua.send('bob', 'room1', '#members'), 200);
  await ua.waitFor('bob', 'Members:\n*[alice]\n~[bob]');
  // The invitation survived too.
  assert.equal(await ua.send('carol', 'secret', '#accept'), 200);
  await ua.waitFor('alice', '*** [carol] has joined the room');
  assert.equal(await ua.send('carol', 'chat-manager', '#rooms'), 200);
  await ua.waitFor('carol', 'Rooms:\n[room1]\n[secret]');
});
