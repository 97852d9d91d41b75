import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { UsageError, loadProxyConfig, parseListen } from '../../src/cli/proxy-options.js';

const BIN = fileURLToPath(new URL('../../bin/sipmedia.js', import.meta.url));

test('defaults work with no configuration at all', () => {
  const c = loadProxyConfig([]);
  assert.deepEqual(c.listenNg, { host: '127.0.0.1', port: 2223 });
  assert.equal(c.portMin, 30000);
  assert.equal(c.portMax, 40000);
  assert.equal(c.timeout, 60);
  assert.equal(c.deleteDelay, 30);
  assert.equal(c.interfaces.length, 1);
  assert.equal(c.interfaces[0]!.family, 4);
});

test('rtpengine option names, long and short forms', () => {
  const c = loadProxyConfig([
    '--interface=pub/192.0.2.1!198.51.100.1',
    '-i',
    'priv/2001:db8::1',
    '--listen-ng=127.0.0.1:22222',
    '--listen-tcp-ng',
    '2224',
    '-m',
    '40000',
    '--port-max=40100',
    '--timeout=10',
    '--silent-timeout=20',
    '--final-timeout=30',
    '--offer-timeout=40',
    '--delete-delay=0',
    '--max-sessions=5',
    '-L',
    '7',
    '--foreground',
    '--pidfile=/tmp/x.pid',
  ]);
  assert.deepEqual(c.interfaces, [
    { name: 'pub', address: '192.0.2.1', advertised: '198.51.100.1', family: 4 },
    { name: 'priv', address: '2001:db8::1', advertised: '2001:db8::1', family: 6 },
  ]);
  assert.deepEqual(c.listenNg, { host: '127.0.0.1', port: 22222 });
  assert.deepEqual(c.listenTcpNg, { host: '127.0.0.1', port: 2224 });
  assert.equal(c.portMin, 40000);
  assert.equal(c.maxSessions, 5);
  assert.equal(c.logLevel, 7);
  assert.equal(c.pidfile, '/tmp/x.pid');
});

test('an rtpengine.conf is read from [rtpengine]; the command line wins', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sipmedia-conf-'));
  const f = join(dir, 'rtpengine.conf');
  writeFileSync(
    f,
    '# operator config\n[rtpengine]\ntable = 0\ninterface = 10.0.0.1;ext/192.0.2.7\nlisten-ng = 127.0.0.1:2223\nport-min = 20000\nport-max = 21000\ntimeout = 30\n',
  );
  const c = loadProxyConfig([`--config-file=${f}`, '--timeout=5']);
  assert.equal(c.interfaces.length, 2);
  assert.equal(c.portMin, 20000);
  assert.equal(c.timeout, 5);
  assert.ok(
    c.warnings.some((w) => w.includes("'table'")),
    'rtpengine-only options are ignored with a warning',
  );
});

test('unknown or invalid options are usage errors', () => {
  for (const argv of [
    ['--frobnicate=1'],
    ['--port-min=abc'],
    ['--port-min=70000'],
    ['--interface=not-an-ip'],
    ['--listen-ng=1.2.3.4:0'],
    ['--port-min=5000', '--port-max=5000'],
    ['stray'],
    ['--config-file=/nonexistent/file.conf'],
  ]) {
    assert.throws(() => loadProxyConfig(argv), UsageError, argv.join(' '));
  }
  assert.deepEqual(parseListen('[::1]:2223', '127.0.0.1'), { host: '::1', port: 2223 });
});

test('the command exits 2 with a clear message on a bad option', () => {
  const r = spawnSync(process.execPath, [BIN, 'proxy', '--frobnicate'], { encoding: 'utf8' });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /unknown option 'frobnicate'/);
  const u = spawnSync(process.execPath, [BIN, 'nonsense'], { encoding: 'utf8' });
  assert.equal(u.status, 2);
  const h = spawnSync(process.execPath, [BIN, 'proxy', '--help'], { encoding: 'utf8' });
  assert.equal(h.status, 0);
  assert.match(h.stdout, /--listen-ng/);
});
