/** rtpengine's CLI port, driven by Debian's rtpengine-ctl (when installed) and by a plain TCP client. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { NgUdp } from '../helpers/ng.js';
import { startTestDaemon, type TestDaemon } from './daemon.js';

const CTL = '/usr/bin/rtpengine-ctl';
const SDP =
  'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0\r\n';

function tcp(port: number, line: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = connect(port, '127.0.0.1', () => c.write(line));
    let out = '';
    c.on('data', (d) => {
      out += d;
    });
    c.on('close', () => resolve(out));
    c.on('error', reject);
    setTimeout(() => reject(new Error('cli timeout')), 3000);
  });
}

/** Runs rtpengine-ctl without blocking the event loop (the daemon is in this process). */
async function ctl(port: number, ...args: string[]): Promise<string> {
  const { spawn } = await import('node:child_process');
  return new Promise((resolve, reject) => {
    const p = spawn(CTL, ['-ip', '127.0.0.1', '-port', String(port), ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    p.stdout.on('data', (d) => {
      out += d;
    });
    p.stderr.on('data', (d) => {
      out += d;
    });
    const t = setTimeout(() => p.kill('SIGKILL'), 8000);
    p.on('exit', (code) => {
      clearTimeout(t);
      if (code === 0) resolve(out);
      else reject(new Error(`rtpengine-ctl exit ${code}: ${out}`));
    });
  });
}

function ctlUsable(): boolean {
  if (!existsSync(CTL)) return false;
  // It reads /etc/rtpengine/rtpengine.conf when present; -ip/-port still win. Check that perl deps load.
  return spawnSync(CTL, ['-h'], { encoding: 'utf8', timeout: 5000 }).status === 0;
}

describe('CLI port', { concurrency: false }, () => {
  let d: TestDaemon;
  let ng: NgUdp;
  before(async () => {
    d = await startTestDaemon();
    ng = new NgUdp(d.ngPort);
    for (const id of ['cli-1', 'cli-2'])
      assert.equal(
        (await ng.request({ command: 'offer', 'call-id': id, 'from-tag': 'a', sdp: SDP })).result,
        'ok',
      );
  });
  after(async () => {
    ng?.close();
    await d?.stop();
  });

  test('plain TCP: list numsessions, sessions, maxsessions, totals', async () => {
    assert.match(await tcp(d.cliPort, 'list numsessions\n'), /^Current sessions own: 2$/m);
    const all = await tcp(d.cliPort, 'list sessions all\n');
    assert.match(all, /callid: +cli-1 \|/);
    assert.match(all, /callid: +cli-2 \|/);
    const one = await tcp(d.cliPort, 'list sessions cli-1\n');
    assert.match(one, /^callid: cli-1$/m);
    assert.match(one, /--- Tag 'a'/);
    assert.match(one, /-------- Port +127\.0\.0\.1:\d+ <> +127\.0\.0\.1:6000, 0 p/);
    assert.equal(await tcp(d.cliPort, 'list sessions nope\n'), '\nCall ID not found (nope).\n\n');
    assert.equal(
      await tcp(d.cliPort, 'list maxsessions\n'),
      'Maximum sessions configured on rtpengine: -1\n',
    );
    assert.match(await tcp(d.cliPort, 'list totals\n'), /^ Total managed sessions +:2$/m);
  });

  test("plain TCP: garbage gets rtpengine's error text, oversized lines are cut off", async () => {
    assert.equal(await tcp(d.cliPort, 'frobnicate\n'), 'Unknown or incomplete command::frobnicate\n');
    assert.equal(
      await tcp(d.cliPort, 'set maxsessions abc\n'),
      'Fail setting maxsessions to abc; no digists found\n',
    );
    assert.match(await tcp(d.cliPort, 'x'.repeat(10_000)), /^Unknown or incomplete command::/);
  });

  test('rtpengine-ctl: list, set maxsessions (enforced on ng), set timeout, terminate', async (t) => {
    if (!ctlUsable()) {
      t.skip('MISSING PEER: rtpengine-ctl (Debian rtpengine-utils) not installed');
      return;
    }
    assert.match(await ctl(d.cliPort, 'list', 'numsessions'), /^Current sessions total: 2$/m);
    assert.equal(await ctl(d.cliPort, 'set', 'maxsessions', '2'), 'Success setting maxsessions to 2\n');
    assert.equal(
      await ctl(d.cliPort, 'list', 'maxsessions'),
      'Maximum sessions configured on rtpengine: 2\n',
    );
    const refused = await ng.request({ command: 'offer', 'call-id': 'cli-3', 'from-tag': 'a', sdp: SDP });
    assert.equal(refused.result, 'error', 'the new limit applies to ng offers');
    assert.equal(await ctl(d.cliPort, 'set', 'timeout', '42'), 'Success setting timeout to 42\n');
    assert.equal(await ctl(d.cliPort, 'list', 'timeout'), 'TIMEOUT=42\n');
    assert.equal(d.daemon.engine.config.timeout, 42);
    assert.match(
      await ctl(d.cliPort, 'terminate', 'cli-1'),
      /Call Id \(cli-1\) successfully terminated by operator\./,
    );
    assert.equal((await ng.request({ command: 'query', 'call-id': 'cli-1' })).result, 'error');
    assert.equal(await ctl(d.cliPort, 'terminate', 'all'), 'All calls terminated by operator.\n');
    assert.equal(await ctl(d.cliPort, 'list', 'sessions', 'all'), 'No sessions on this media relay.\n');
    assert.match(await ctl(d.cliPort, 'list', 'totals'), /^ Total forced terminated sessions +:2$/m);
  });
});
