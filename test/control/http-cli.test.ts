/**
 * rtpengine-ctl's commands over HTTP (`GET /cli/list+numsessions`) and over the WebSocket subprotocol
 * `cli.rtpengine.com`, side by side with Debian's rtpengine: the same status, content type and text (for
 * commands whose text does not depend on the daemon's history), the same refusals.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import WebSocket from 'ws';
import {
  MISSING_RTPENGINE,
  type MediaProxy,
  rtpengineInstalled,
  startRtpengine,
} from '../helpers/rtpengine.js';
import { startTestDaemon, type TestDaemon } from './daemon.js';

async function get(port: number, path: string): Promise<{ status: number; type: string; text: string }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(3000) });
  return { status: res.status, type: String(res.headers.get('content-type')), text: await res.text() };
}

async function ws(port: number, line: string): Promise<{ binary: boolean; text: string }> {
  const c = new WebSocket(`ws://127.0.0.1:${port}/`, 'cli.rtpengine.com');
  try {
    await new Promise((ok, bad) => {
      c.once('open', ok);
      c.once('error', bad);
    });
    const reply = new Promise<{ binary: boolean; text: string }>((ok, bad) => {
      c.once('message', (d, binary) => ok({ binary, text: String(d) }));
      setTimeout(() => bad(new Error('no WebSocket reply')), 3000).unref();
    });
    c.send(line);
    return await reply;
  } finally {
    c.close();
  }
}

describe('CLI over HTTP and WebSocket', () => {
  let d: TestDaemon;
  let theirs: MediaProxy | undefined;
  before(async () => {
    d = await startTestDaemon();
    if (rtpengineInstalled()) theirs = await startRtpengine();
    else console.log(MISSING_RTPENGINE);
  });
  after(async () => {
    await d?.stop();
    await theirs?.stop();
  });

  test('GET /cli/<command>: spaces as + or %20, unknown commands answered as rtpengine answers them', async () => {
    for (const path of ['/cli/list+numsessions', '/cli/list%20numsessions', '/cli/bogus+thing', '/cli/']) {
      const ours = await get(d.httpPort, path);
      assert.equal(ours.status, 200, path);
      assert.match(ours.type, /^text\/plain/, path);
      if (theirs) {
        const ref = await get(theirs.httpPort, path);
        assert.equal(ours.status, ref.status, path);
        assert.equal(ours.text, ref.text, `${path}: the text rtpengine gives`);
      }
    }
    assert.match((await get(d.httpPort, '/cli/list+numsessions')).text, /^Current sessions own: 0\n/);
    assert.match((await get(d.httpPort, '/cli/list+totals')).text, /Total sessions/);
    assert.equal((await get(d.httpPort, '/cli/%zz')).status, 400, 'a bad escape');
    const post = await fetch(`http://127.0.0.1:${d.httpPort}/cli/list+totals`, { method: 'POST', body: 'x' });
    assert.equal(post.status, 405);
    await post.text();
  });

  test('WebSocket cli.rtpengine.com: one command per message, the text back in a binary message', async () => {
    const ours = await ws(d.httpPort, 'list numsessions');
    assert.match(ours.text, /^Current sessions own: 0\n/);
    if (theirs) assert.deepEqual(ours, await ws(theirs.httpPort, 'list numsessions'));
    const unknown = await ws(d.httpPort, 'frobnicate');
    assert.equal(unknown.text, 'Unknown or incomplete command::frobnicate\n');
  });
});
