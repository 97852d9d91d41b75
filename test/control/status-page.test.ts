/**
 * The status page in headless Chromium, driven over the DevTools protocol with `ws`: it loads without
 * console errors, and a call created through ng appears (the page refreshes itself, no reload).
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import WebSocket from 'ws';
import { NgUdp } from '../helpers/ng.js';
import { startTestDaemon } from './daemon.js';

const CHROMIUM = '/usr/bin/chromium';
const SDP =
  'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0\r\n';

function getJson(port: number, path: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port, path }, (res) => {
      let s = '';
      res.on('data', (d) => {
        s += d;
      });
      res.on('end', () => {
        try {
          resolve(JSON.parse(s));
        } catch (e) {
          reject(e);
        }
      });
    }).on('error', reject);
  });
}

/** A minimal DevTools protocol session on one page target. */
class Cdp {
  private id = 0;
  private pending = new Map<number, (r: { result?: unknown; error?: unknown }) => void>();
  readonly events: { method: string; params: Record<string, unknown> }[] = [];
  constructor(private readonly ws: WebSocket) {
    ws.on('message', (d: Buffer) => {
      const m = JSON.parse(d.toString()) as {
        id?: number;
        method?: string;
        params?: Record<string, unknown>;
      };
      if (m.id !== undefined) this.pending.get(m.id)?.(m as { result?: unknown });
      else if (m.method) this.events.push({ method: m.method, params: m.params ?? {} });
    });
  }
  send(method: string, params: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
    const id = ++this.id;
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`cdp ${method}: timeout`)), 10_000);
      this.pending.set(id, (r) => {
        clearTimeout(t);
        if (r.error) reject(new Error(JSON.stringify(r.error)));
        else resolve((r.result ?? {}) as Record<string, unknown>);
      });
      this.ws.send(JSON.stringify({ id, method, params }));
    });
  }
  async evaluate(expr: string): Promise<unknown> {
    const r = await this.send('Runtime.evaluate', { expression: expr, returnByValue: true });
    return (r.result as { value?: unknown } | undefined)?.value;
  }
}

test('status page in headless Chromium shows a call created through ng, without console errors', async (t) => {
  if (!existsSync(CHROMIUM)) {
    t.skip('MISSING PEER: chromium not installed (apt-get install -y chromium)');
    return;
  }
  const d = await startTestDaemon();
  const profile = mkdtempSync(join(tmpdir(), 'sipmedia-chromium-'));
  const debugPort = d.spare[0]!;
  let chrome: ChildProcess | undefined;
  let ws: WebSocket | undefined;
  const ng = new NgUdp(d.ngPort);
  try {
    chrome = spawn(
      CHROMIUM,
      [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        `--user-data-dir=${profile}`,
        `--remote-debugging-port=${debugPort}`,
        'about:blank',
      ],
      // Its own process group, so its helper processes (renderer, zygote, crashpad) can be stopped with it.
      { stdio: 'ignore', detached: true },
    );
    let targets: { type: string; webSocketDebuggerUrl: string }[] = [];
    for (let i = 0; i < 100 && targets.length === 0; i++) {
      try {
        targets = ((await getJson(debugPort, '/json/list')) as typeof targets).filter(
          (x) => x.type === 'page',
        );
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    assert.ok(targets[0], 'chromium did not expose a page target');
    ws = new WebSocket(targets[0].webSocketDebuggerUrl);
    await new Promise((resolve, reject) => {
      ws?.once('open', resolve);
      ws?.once('error', reject);
    });
    const cdp = new Cdp(ws);
    await cdp.send('Runtime.enable');
    await cdp.send('Log.enable');
    await cdp.send('Page.enable');
    await cdp.send('Page.navigate', { url: `http://127.0.0.1:${d.httpPort}/` });

    const waitFor = async (expr: string, what: string): Promise<void> => {
      for (let i = 0; i < 100; i++) {
        if ((await cdp.evaluate(expr)) === true) return;
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.fail(
        `page never showed ${what}; body: ${String(await cdp.evaluate('document.body.innerText'))}`,
      );
    };
    await waitFor(`document.getElementById("sessions")?.textContent === "0"`, 'zero calls');
    const offer = await ng.request({
      command: 'offer',
      'call-id': 'page-call-<b>',
      'from-tag': 'alice',
      sdp: SDP,
    });
    assert.equal(offer.result, 'ok');
    await waitFor(
      `[...document.querySelectorAll("tr.call")].some(r => r.dataset.callId === "page-call-<b>")`,
      'the call row',
    );
    assert.equal(await cdp.evaluate(`document.getElementById("sessions").textContent`), '1');
    const text = String(await cdp.evaluate('document.body.innerText'));
    assert.match(text, /page-call-<b>/, 'call-id shown as text, not parsed as markup');
    assert.match(text, /alice/);
    assert.match(text, /127\.0\.0\.1:6000/, 'the stream towards the party');
    assert.equal(await cdp.evaluate('document.querySelectorAll("b b").length'), 0);

    const errors = cdp.events.filter(
      (e) =>
        (e.method === 'Runtime.consoleAPICalled' && e.params.type === 'error') ||
        e.method === 'Runtime.exceptionThrown' ||
        (e.method === 'Log.entryAdded' && (e.params.entry as { level?: string }).level === 'error'),
    );
    assert.deepEqual(errors, [], 'console errors on the status page');
  } finally {
    ng.close();
    ws?.close();
    if (chrome && chrome.exitCode === null) {
      const exited = new Promise((r) => chrome?.once('exit', r));
      chrome.kill('SIGTERM');
      const timer = setTimeout(() => chrome?.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    }
    // Helpers outliving the browser would keep writing into the profile: end the whole group we started.
    if (chrome?.pid !== undefined) {
      try {
        process.kill(-chrome.pid, 'SIGKILL');
      } catch {}
    }
    await d.stop();
    try {
      rmSync(profile, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
    } catch (e) {
      // Cleanup only: a leftover temporary profile is not a failure of the status page.
      console.warn(`could not remove ${profile}: ${(e as Error).message}`);
    }
  }
});
