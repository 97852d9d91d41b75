/**
 * Acceptance: the npm `rtpengine-client` (a real third-party client, CommonJS, no types; it only accepts
 * replies whose cookie is echoed exactly) drives `sipmedia proxy` through offer, answer, query and delete.
 * The same scenario runs against rtpengine, to keep the scenario itself honest.
 */
import assert from 'node:assert/strict';
import Module, { createRequire } from 'node:module';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startProxy } from '../helpers/proxy.js';
import { haveRtpengine, MISSING_RTPENGINE, startRtpengine } from './helpers-rtpengine.js';

interface ThirdPartyClient {
  offer(port: number, host: string, opts: object): Promise<Record<string, unknown>>;
  answer(port: number, host: string, opts: object): Promise<Record<string, unknown>>;
  query(port: number, host: string, opts: object): Promise<Record<string, unknown>>;
  delete(port: number, host: string, opts: object): Promise<Record<string, unknown>>;
  ping(port: number, host: string): Promise<Record<string, unknown>>;
  close(): void;
}
const require = createRequire(import.meta.url);
// rtpengine-client 0.4.12 requires `debug` without declaring it as a dependency. Until the lead adds
// `debug` as a devDependency, resolve it to a silent stand-in (a function returning a no-op logger).
try {
  require.resolve('debug', { paths: [require.resolve('rtpengine-client')] });
} catch {
  const M = Module as unknown as { _resolveFilename: (r: string, ...a: unknown[]) => string };
  const resolve = M._resolveFilename;
  const stub = fileURLToPath(new URL('./fixtures/debug-stub.cjs', import.meta.url));
  M._resolveFilename = (r, ...a) => (r === 'debug' ? stub : resolve(r, ...a));
}
const { Client } = require('rtpengine-client') as {
  Client: new (opts: { timeout: number }) => ThirdPartyClient;
};

function sdpAt(port: number): string {
  return (
    'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n' +
    `m=audio ${port} RTP/AVP 0 8\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n`
  );
}

/** offer, answer, query, delete through rtpengine-client; asserts on what came back. */
async function scenario(ngPort: number, spare: number[]): Promise<void> {
  const client = new Client({ timeout: 3000 });
  try {
    const callId = `interop-${ngPort}`;
    assert.equal((await client.ping(ngPort, '127.0.0.1')).result, 'pong');
    const offer = await client.offer(ngPort, '127.0.0.1', {
      'call-id': callId,
      'from-tag': 'alice',
      sdp: sdpAt(spare[0]!),
      replace: ['origin', 'session-connection'],
    });
    assert.equal(offer.result, 'ok', JSON.stringify(offer));
    const offerPort = Number(/m=audio (\d+)/.exec(String(offer.sdp))?.[1]);
    assert.ok(offerPort > 0 && offerPort !== spare[0]);
    const answer = await client.answer(ngPort, '127.0.0.1', {
      'call-id': callId,
      'from-tag': 'alice',
      'to-tag': 'bob',
      sdp: sdpAt(spare[2]!),
    });
    assert.equal(answer.result, 'ok', JSON.stringify(answer));
    assert.match(String(answer.sdp), /m=audio \d+ RTP\/AVP/);
    const q = await client.query(ngPort, '127.0.0.1', { 'call-id': callId });
    assert.equal(q.result, 'ok');
    assert.deepEqual(Object.keys(q.tags as object).sort(), ['alice', 'bob']);
    const del = await client.delete(ngPort, '127.0.0.1', { 'call-id': callId, 'from-tag': 'alice' });
    assert.equal(del.result, 'ok');
    const gone = await client.query(ngPort, '127.0.0.1', { 'call-id': callId });
    assert.equal(gone.result, 'error');
  } finally {
    client.close();
  }
}

let proxy: Awaited<ReturnType<typeof startProxy>> | undefined;
let proxySkip: string | false = false;
try {
  proxy = await startProxy(['--delete-delay=0']);
} catch (e) {
  proxySkip = `MISSING PEER: sipmedia proxy not built yet (${(e as Error).message.split('\n')[0]})`;
  console.log(proxySkip);
}

describe('rtpengine-client drives sipmedia proxy', { skip: proxySkip }, () => {
  after(() => proxy?.stop());
  test('offer, answer, query, delete', async () => {
    await scenario(proxy!.ngPort, proxy!.spare);
  });
});

describe('rtpengine-client drives rtpengine (control)', {
  skip: haveRtpengine() ? false : MISSING_RTPENGINE,
}, () => {
  let rtpe: Awaited<ReturnType<typeof startRtpengine>>;
  before(async () => {
    rtpe = await startRtpengine();
  });
  after(() => rtpe?.stop());
  test('offer, answer, query, delete', async () => {
    await scenario(rtpe.ngPort, rtpe.spare);
  });
});
