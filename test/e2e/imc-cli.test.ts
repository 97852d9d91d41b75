/** `sipmedia imc` as a process: flags, and `imc rooms` / `imc members` reading the service's SQLite file. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { imcConfigFromFlags, parseExtraHeaders } from '../../src/cli/imc.js';
import { reservePortBlock } from '../helpers/ports.js';
import { startImc } from './fixtures/imc/processes.js';
import { ImcUa } from './fixtures/imc/ua.js';

const RUNNER = fileURLToPath(new URL('./fixtures/imc/run-imc.ts', import.meta.url));
const run = promisify(execFile);
const DOMAIN = 'chat.example.com';

test('flags: required ones, extra headers, bad values', () => {
  assert.throws(() => imcConfigFromFlags(new Map([['domain', 'd']])), /--listen/);
  assert.throws(() => imcConfigFromFlags(new Map([['listen', '127.0.0.1:5060']])), /--domain/);
  const cfg = imcConfigFromFlags(
    new Map([
      ['listen', '127.0.0.1:5070'],
      ['domain', 'd.example'],
      ['command-char', '!'],
      ['outbound-proxy', 'sip:127.0.0.1:5060'],
      ['extra-headers', 'P-Flags: 3\\r\\nX-Imc: yes'],
      ['create-on-join', 'no'],
      ['owner-leave', 'refuse'],
      ['http', '127.0.0.1:8080'],
    ]),
  );
  assert.deepEqual(cfg.listen, { host: '127.0.0.1', port: 5070 });
  assert.equal(cfg.commandChar, '!');
  assert.deepEqual(cfg.extraHeaders, { 'P-Flags': '3', 'X-Imc': 'yes' });
  assert.equal(cfg.createOnJoin, false);
  assert.equal(cfg.ownerLeave, 'refuse');
  assert.deepEqual(parseExtraHeaders('A: 1\r\nB: 2\n'), { A: '1', B: '2' });
  assert.throws(() => parseExtraHeaders('no colon here'), /Name: value/);
  const base = new Map([
    ['listen', '127.0.0.1:5070'],
    ['domain', 'd'],
  ]);
  assert.throws(() => imcConfigFromFlags(new Map([...base, ['command-char', '##']])), /one character/);
  assert.throws(() => imcConfigFromFlags(new Map([...base, ['outbound-proxy', 'http://x']])), /SIP URI/);
  assert.throws(() => imcConfigFromFlags(new Map([...base, ['max-body', '5']])), /max-body/);
  assert.throws(
    () =>
      imcConfigFromFlags(
        new Map([
          ['listen', 'nope'],
          ['domain', 'd'],
        ]),
      ),
    /IP:PORT/,
  );
});

test('imc rooms / imc members read the same database; HTTP ops too', { timeout: 60_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'imc-cli-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const db = `sqlite:${join(dir, 'imc.sqlite')}`;
  const base = reservePortBlock();
  const ua = await ImcUa.start(base + 1, DOMAIN, base);
  t.after(() => ua.close());
  const imc = await startImc([
    `--listen=127.0.0.1:${base}`,
    `--domain=${DOMAIN}`,
    `--db=${db}`,
    `--outbound-proxy=sip:127.0.0.1:${base + 1}`,
    `--http=127.0.0.1:${base + 2}`,
    '--command-char=!',
    '--log-level=4',
  ]);
  t.after(() => imc.stop());
  assert.equal(await ua.send('alice', 'chat-manager', '!create room1'), 200);
  assert.equal(await ua.send('bob', 'room1', '!join'), 200);
  assert.equal(await ua.send('alice', 'chat-manager', '!create secret private'), 200);
  await ua.waitFor('alice', '*** [bob] has joined the room');
  assert.equal(await ua.send('bob', 'room1', '#join'), 200, 'with ! as command char, # is text');
  await ua.waitFor('alice', '[bob]: #join');

  const rooms = await run(process.execPath, ['--import', 'tsx', RUNNER, 'rooms', `--db=${db}`]);
  assert.equal(
    rooms.stdout,
    `room1@${DOMAIN}\tpublic\t2 member(s)\nsecret@${DOMAIN}\tprivate\t1 member(s)\n`,
  );
  const members = await run(process.execPath, [
    '--import',
    'tsx',
    RUNNER,
    'members',
    `room1@${DOMAIN}`,
    `--db=${db}`,
  ]);
  assert.equal(members.stdout, `alice@${DOMAIN}\towner\nbob@${DOMAIN}\tmember\n`);
  await assert.rejects(
    run(process.execPath, [
      '--import',
      'tsx',
      RUNNER,
      'members',
      'nosuch',
      `--domain=${DOMAIN}`,
      `--db=${db}`,
    ]),
    (e: { code?: number; stderr?: string }) => e.code === 1 && /not found/.test(e.stderr ?? ''),
  );
  const http = (await (await fetch(`http://127.0.0.1:${base + 2}/rooms`)).json()) as { rooms: unknown[] };
  assert.equal(http.rooms.length, 2);
});
