/** `sipmedia ctl` run as a function: against rtpengine, against an in-test server, and with bad input. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runCtl } from '../../src/cli/ctl.js';
import type { BDict } from '../../src/wire/bencode.js';
import {
  haveRtpengine,
  MISSING_RTPENGINE,
  type RunningRtpengine,
  startRtpengine,
} from '../client/helpers-rtpengine.js';
import { startTestNgServer, type TestNgServer } from '../client/helpers-ng-server.js';
import { reservePortBlock } from '../helpers/ports.js';

async function ctl(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCtl(args, {
    out: (t) => {
      out += t;
    },
    err: (t) => {
      err += t;
    },
  });
  return { code, out, err };
}

const dir = mkdtempSync(join(tmpdir(), 'sipmedia-ctl-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const sdp = (port: number) =>
  'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n' +
  `m=audio ${port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n`;

const base = reservePortBlock();

test('usage errors exit 2', async () => {
  assert.equal((await ctl([])).code, 2);
  assert.equal((await ctl(['--bogus', 'ping'])).code, 2);
  assert.equal((await ctl(['frobnicate'])).code, 2);
  assert.equal((await ctl(['--proxy', 'sctp://x:1', 'ping'])).code, 2);
  assert.equal((await ctl(['query'])).code, 2);
  const r = await ctl(['offer', join(dir, 'missing.sdp'), '--call-id', 'c', '--from-tag', 'f']);
  assert.equal(r.code, 2);
  assert.match(r.err, /cannot read SDP file/);
  const h = await ctl(['--help']);
  assert.equal(h.code, 0);
  assert.match(h.out, /exit codes/);
});

test('timeout / unreachable exits 3', async () => {
  const r = await ctl(['--proxy', `udp:127.0.0.1:${base}`, '--timeout', '200', 'ping']);
  assert.equal(r.code, 3);
  assert.match(r.err, /no reply/);
});

describe('against an in-test server', () => {
  let srv: TestNgServer;
  before(async () => {
    srv = await startTestNgServer(base + 1, {
      respond: (b): BDict =>
        b.command === 'query'
          ? { result: 'error', 'error-reason': 'Unknown call-id' }
          : b.command === 'ping'
            ? { result: 'pong' }
            : { result: 'ok', duration: 1500 },
    });
  });
  after(() => srv.close());
  const proxy = () => ['--proxy', `udp://127.0.0.1:${base + 1}`];

  test('an error reply exits 1, with JSON on stdout under --json', async () => {
    const r = await ctl([...proxy(), '--json', 'query', 'nope']);
    assert.equal(r.code, 1);
    assert.deepEqual(JSON.parse(r.out), { result: 'error', 'error-reason': 'Unknown call-id' });
  });

  test('media commands send the right wire dictionaries', async () => {
    const cases: [string[], Record<string, unknown>][] = [
      [
        ['play-media', 'c1', '--from-tag', 'a', '--file', '/p.wav', '--repeat-times', '2'],
        { command: 'play media', 'call-id': 'c1', 'from-tag': 'a', file: '/p.wav', 'repeat-times': 2 },
      ],
      [['stop-media', 'c1', '--from-tag', 'a'], { command: 'stop media', 'call-id': 'c1', 'from-tag': 'a' }],
      [['block-dtmf', 'c1'], { command: 'block DTMF', 'call-id': 'c1' }],
      [['unblock-dtmf', 'c1'], { command: 'unblock DTMF', 'call-id': 'c1' }],
      [['block-media', 'c1', '--flags', 'all'], { command: 'block media', 'call-id': 'c1', flags: ['all'] }],
      [['unblock-media', 'c1'], { command: 'unblock media', 'call-id': 'c1' }],
      [['start-recording', 'c1'], { command: 'start recording', 'call-id': 'c1' }],
      [['stop-recording', 'c1'], { command: 'stop recording', 'call-id': 'c1' }],
    ];
    for (const [args, wire] of cases) {
      const n = srv.received.length;
      const r = await ctl([...proxy(), ...args]);
      assert.equal(r.code, 0, r.err);
      const { supports: _s, ...body } = srv.received[n]!.body;
      assert.deepEqual({ ...body }, wire);
    }
    assert.match((await ctl([...proxy(), 'play-media', 'c1', '--file', '/x.wav'])).out, /duration 1500 ms/);
  });
});

describe('against rtpengine', { skip: haveRtpengine() ? false : MISSING_RTPENGINE }, () => {
  let rtpe: RunningRtpengine;
  before(async () => {
    rtpe = await startRtpengine();
  });
  after(() => rtpe?.stop());
  const proxy = () => ['--proxy', `udp:127.0.0.1:${rtpe.ngPort}`];

  test('ping, offer, answer, list, query, statistics, delete: tables and --json', async () => {
    const ping = await ctl([...proxy(), 'ping']);
    assert.equal(ping.code, 0);
    assert.match(ping.out, /^pong from udp:\/\/127\.0\.0\.1:\d+/);

    writeFileSync(join(dir, 'a.sdp'), sdp(rtpe.spare[0]!));
    writeFileSync(join(dir, 'b.sdp'), sdp(rtpe.spare[2]!));
    const common = [
      '--call-id',
      'ctl-1',
      '--from-tag',
      'A',
      '--flags',
      'trust-address',
      '--replace',
      'origin',
    ];
    const offer = await ctl([...proxy(), 'offer', join(dir, 'a.sdp'), ...common]);
    assert.equal(offer.code, 0, offer.err);
    assert.match(offer.out, /^v=0\r\n[\s\S]*m=audio \d+ RTP\/AVP 0/);
    const answer = await ctl([
      ...proxy(),
      '--json',
      'answer',
      join(dir, 'b.sdp'),
      ...common,
      '--to-tag',
      'B',
    ]);
    assert.equal(answer.code, 0, answer.err);
    assert.equal(JSON.parse(answer.out).result, 'ok');

    const listJson = JSON.parse((await ctl([...proxy(), '--json', 'list'])).out);
    assert.deepEqual(listJson.calls, ['ctl-1']);
    assert.match((await ctl([...proxy(), 'list'])).out, /^1 call\(s\)\n {2}ctl-1\n$/);

    const q = await ctl([...proxy(), 'query', 'ctl-1']);
    assert.equal(q.code, 0);
    assert.match(q.out, /tag +media +kind +local port +endpoint +packets +bytes +errors/);
    assert.match(q.out, new RegExp(`127\\.0\\.0\\.1:${rtpe.spare[2]}`));
    assert.ok(JSON.parse((await ctl([...proxy(), '--json', 'query', 'ctl-1'])).out).tags.A);

    const st = await ctl([...proxy(), 'statistics']);
    assert.match(st.out, /currentstatistics +sessionsown +1/);
    assert.equal(
      typeof JSON.parse((await ctl([...proxy(), '--json', 'statistics'])).out).statistics,
      'object',
    );

    assert.equal((await ctl([...proxy(), 'block-dtmf', 'ctl-1', '--from-tag', 'A'])).code, 0);
    assert.equal((await ctl([...proxy(), 'unblock-dtmf', 'ctl-1'])).code, 0);
    assert.equal((await ctl([...proxy(), 'delete', 'ctl-1'])).out, 'ok\n');
    const again = await ctl([...proxy(), 'query', 'ctl-1']);
    assert.equal(again.code, 1);
    const warn = await ctl([...proxy(), 'delete', 'ctl-1']);
    assert.equal(warn.code, 0);
    assert.match(warn.err, /^warning: /);
  });

  test('offer over TCP from stdin', async () => {
    let out = '';
    const code = await runCtl(
      ['--proxy', `tcp://127.0.0.1:${rtpe.tcpNgPort}`, 'offer', '-', '--call-id', 'ctl-2', '--from-tag', 'A'],
      {
        out: (t) => {
          out += t;
        },
        err: () => {},
        stdin: async () => sdp(rtpe.spare[4]!),
      },
    );
    assert.equal(code, 0);
    assert.match(out, /m=audio \d+/);
    assert.equal((await ctl([...proxy(), 'delete', 'ctl-2'])).code, 0);
  });
});
