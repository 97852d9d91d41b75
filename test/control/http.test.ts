/**
 * HTTP and WebSocket front end against an in-process daemon: /ng (bencode), /ng-plain (JSON), both
 * WebSocket subprotocols, /ping, /health, /metrics; calls made through one front end are visible through
 * the others; bad input gets 400 / 413 / result: error and the daemon keeps serving.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import WebSocket from 'ws';
import { bencodeEncode } from '../../src/wire/bencode.js';
import { formatNgMessage, parseNgMessage } from '../../src/wire/ng-message.js';
import { NgUdp } from '../helpers/ng.js';
import { startTestDaemon, type TestDaemon } from './daemon.js';
import { rtppUdp } from './rtpp-client.js';

const SDP =
  'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0\r\n';

function http(
  port: number,
  method: string,
  path: string,
  body?: Buffer | string,
  headers: Record<string, string | number> = {},
): Promise<{ status: number; type: string; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          type: String(res.headers['content-type']),
          body: Buffer.concat(chunks),
        }),
      );
    });
    req.on('error', reject);
    req.setTimeout(3000, () => req.destroy(new Error('timeout')));
    req.end(body);
  });
}

function wsExchange(port: number, protocol: string, message: Buffer | string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`, protocol);
    const t = setTimeout(() => {
      ws.terminate();
      reject(new Error('ws timeout'));
    }, 3000);
    ws.on('open', () => ws.send(message));
    ws.on('message', (d: Buffer) => {
      clearTimeout(t);
      assert.equal(ws.protocol, protocol);
      ws.close();
      resolve(Buffer.from(d));
    });
    ws.on('error', (e) => {
      clearTimeout(t);
      reject(e);
    });
  });
}

describe('HTTP / WebSocket front end', { concurrency: false }, () => {
  let d: TestDaemon;
  before(async () => {
    d = await startTestDaemon();
  });
  after(async () => {
    await d?.stop();
  });

  test('GET /ping, /health', async () => {
    const p = await http(d.httpPort, 'GET', '/ping');
    assert.equal(p.status, 200);
    assert.equal(p.body.toString(), 'pong\n');
    const h = await http(d.httpPort, 'GET', '/health');
    assert.equal(h.status, 200);
    assert.equal(JSON.parse(h.body.toString()).status, 'ok');
  });

  test('POST /ng: cookie + bencode; the call is then visible over ng UDP and RTPproxy Q', async () => {
    const msg = formatNgMessage('h1', {
      command: 'offer',
      'call-id': 'http-call',
      'from-tag': 'a',
      sdp: SDP,
    });
    const r = await http(d.httpPort, 'POST', '/ng', msg, { 'content-type': 'application/x-rtpengine-ng' });
    assert.equal(r.status, 200);
    assert.equal(r.type, 'application/x-rtpengine-ng');
    const reply = parseNgMessage(r.body);
    assert.equal(reply.cookie, 'h1');
    assert.equal(reply.body.result, 'ok');
    assert.match(String(reply.body.sdp), /m=audio \d+ RTP\/AVP 0/);
    const ng = new NgUdp(d.ngPort);
    try {
      const q = await ng.request({ command: 'query', 'call-id': 'http-call' });
      assert.equal(q.result, 'ok');
    } finally {
      ng.close();
    }
    assert.match(await rtppUdp(d.udpPort, 'Q http-call a'), /^\d+ 0 0 0 0$/);
  });

  test('POST /ng-plain: JSON in, JSON out; bad JSON is 400 with result: error', async () => {
    const ok = await http(d.httpPort, 'POST', '/ng-plain', JSON.stringify({ command: 'list' }), {
      'content-type': 'application/json',
    });
    assert.equal(ok.status, 200);
    const body = JSON.parse(ok.body.toString());
    assert.equal(body.result, 'ok');
    assert.ok(body.calls.includes('http-call'));
    const bad = await http(d.httpPort, 'POST', '/ng-plain', '{not json');
    assert.equal(bad.status, 400);
    assert.equal(JSON.parse(bad.body.toString()).result, 'error');
    const unknown = await http(d.httpPort, 'POST', '/ng-plain', JSON.stringify({ command: 'frobnicate' }));
    assert.equal(JSON.parse(unknown.body.toString()).result, 'error');
  });

  test('POST /ng without a cookie is 400; unknown paths 404; wrong methods 405', async () => {
    assert.equal((await http(d.httpPort, 'POST', '/ng', 'garbage')).status, 400);
    assert.equal((await http(d.httpPort, 'GET', '/nope')).status, 404);
    assert.equal((await http(d.httpPort, 'GET', '/ng')).status, 405);
    const withCookie = await http(d.httpPort, 'POST', '/ng', 'ck d7:commandi1ee');
    assert.equal(withCookie.status, 200);
    assert.equal(parseNgMessage(withCookie.body).body.result, 'error');
  });

  test('oversized body: 413 from Content-Length alone, before the body is sent', async () => {
    const status = await new Promise<string>((resolve, reject) => {
      const c = connect(d.httpPort, '127.0.0.1', () => {
        // Headers only: the server must answer without waiting for 50 MB that never come.
        c.write('POST /ng HTTP/1.1\r\nHost: x\r\nContent-Length: 50000000\r\n\r\n');
      });
      let out = '';
      c.on('data', (x) => {
        out += x.toString();
        if (out.includes('\r\n')) {
          c.destroy();
          resolve(out.split('\r\n')[0]!);
        }
      });
      c.on('error', reject);
      setTimeout(() => reject(new Error('no 413')), 3000);
    });
    assert.match(status, /^HTTP\/1\.1 413/);
  });

  test('oversized chunked body: 413 while streaming', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: d.httpPort,
          method: 'POST',
          path: '/ng-plain',
          headers: { 'transfer-encoding': 'chunked' },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', () => {});
      const chunk = Buffer.alloc(256 * 1024, 0x20);
      // At most 8 MB: the server refuses at 1 MB, so this stays bounded either way.
      let sent = 0;
      const pump = (): void => {
        while (sent < 32 && req.write(chunk)) sent++;
        if (sent < 32) req.once('drain', pump);
        else req.end();
      };
      pump();
      setTimeout(() => reject(new Error('no reply')), 5000);
    });
    assert.equal(status, 413);
  });

  test('WebSocket ng.rtpengine.com and ng-plain.rtpengine.com', async () => {
    const r = parseNgMessage(
      await wsExchange(d.httpPort, 'ng.rtpengine.com', formatNgMessage('w1', { command: 'ping' })),
    );
    assert.deepEqual([r.cookie, r.body.result], ['w1', 'pong']);
    const p = JSON.parse(
      (
        await wsExchange(d.httpPort, 'ng-plain.rtpengine.com', JSON.stringify({ command: 'ping' }))
      ).toString(),
    );
    assert.equal(p.result, 'pong');
    const bad = JSON.parse((await wsExchange(d.httpPort, 'ng-plain.rtpengine.com', '[1,2')).toString());
    assert.equal(bad.result, 'error');
    const badNg = parseNgMessage(
      await wsExchange(
        d.httpPort,
        'ng.rtpengine.com',
        Buffer.from(`w2 ${bencodeEncode([1]).toString('latin1')}`),
      ),
    );
    assert.equal(badNg.body.result, 'error');
  });

  test('WebSocket without an ng subprotocol is refused with 400', async () => {
    const code = await new Promise<number>((resolve) => {
      const ws = new WebSocket(`ws://127.0.0.1:${d.httpPort}/`, 'chat');
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('error', () => resolve(-1));
    });
    assert.equal(code, 400);
  });

  test('GET /metrics: sessions, totals, closed by reason, per-command counters and latency', async () => {
    await http(
      d.httpPort,
      'POST',
      '/ng-plain',
      JSON.stringify({ command: 'delete', 'call-id': 'http-call', 'delete delay': 0 }),
    );
    const m = await http(d.httpPort, 'GET', '/metrics');
    assert.equal(m.status, 200);
    const text = m.body.toString();
    assert.match(text, /^sipmedia_sessions 0$/m);
    assert.match(text, /^sipmedia_sessions_total 1$/m);
    assert.match(text, /^sipmedia_closed_sessions_total\{reason="regular"\} 1$/m);
    assert.match(text, /^sipmedia_ng_requests_total\{command="offer",result="ok"\} 1$/m);
    assert.match(text, /^sipmedia_ng_requests_total\{command="other",result="error"\} 1$/m);
    assert.match(text, /^sipmedia_ng_request_duration_seconds_count\{command="offer"\} 1$/m);
    assert.match(text, /^sipmedia_packets_total\{type="rtp"\} \d+$/m);
    assert.match(text, /^sipmedia_rtpproxy_requests_total\{command="Q"\} 1$/m);
    assert.match(text, /^sipmedia_uptime_seconds \d+$/m);
  });

  test('after all that the daemon still answers on every port', async () => {
    assert.equal((await http(d.httpPort, 'GET', '/ping')).status, 200);
    assert.equal(await rtppUdp(d.udpPort, 'V'), '20040107');
    const ng = new NgUdp(d.ngPort);
    try {
      assert.equal((await ng.request({ command: 'ping' })).result, 'pong');
    } finally {
      ng.close();
    }
  });
});
