/**
 * Headless Chromium driven over the DevTools protocol with `ws`, for tests that need a real browser (the
 * status page, WebRTC). The browser runs in its own process group, which `stop` ends whole.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';

export const CHROMIUM = '/usr/bin/chromium';
export const MISSING_CHROMIUM = 'MISSING PEER: chromium not installed (apt-get install -y chromium)';

export function chromiumInstalled(): boolean {
  return existsSync(CHROMIUM);
}

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
export class Cdp {
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
  /** Evaluates `expr` in the page (promises awaited); throws with the page's exception text. */
  async evaluate(expr: string): Promise<unknown> {
    const r = await this.send('Runtime.evaluate', {
      expression: expr,
      returnByValue: true,
      awaitPromise: true,
    });
    const ex = r.exceptionDetails as { exception?: { description?: string }; text?: string } | undefined;
    if (ex) throw new Error(`page: ${ex.exception?.description ?? ex.text}`);
    return (r.result as { value?: unknown } | undefined)?.value;
  }
  /** Polls `expr` until it is true (bounded: 100 x 100 ms), else fails with `what` and `detail()`. */
  async waitFor(expr: string, what: string, detail?: () => Promise<string>): Promise<void> {
    for (let i = 0; i < 100; i++) {
      if ((await this.evaluate(expr)) === true) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.fail(`page never showed ${what}${detail ? `: ${await detail()}` : ''}`);
  }
}

export interface RunningChromium {
  cdp: Cdp;
  stop: () => Promise<void>;
}

/** Starts headless Chromium with DevTools on `debugPort` and opens a session on its page. */
export async function startChromium(debugPort: number, extraArgs: string[] = []): Promise<RunningChromium> {
  const profile = mkdtempSync(join(tmpdir(), 'sipmedia-chromium-'));
  let ws: WebSocket | undefined;
  const chrome: ChildProcess = spawn(
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
      ...extraArgs,
      'about:blank',
    ],
    // Its own process group, so its helper processes (renderer, zygote, crashpad) can be stopped with it.
    { stdio: 'ignore', detached: true },
  );
  const stop = async (): Promise<void> => {
    ws?.close();
    if (chrome.exitCode === null && chrome.signalCode === null) {
      const exited = new Promise((r) => chrome.once('exit', r));
      chrome.kill('SIGTERM');
      const timer = setTimeout(() => chrome.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    }
    // Helpers outliving the browser would keep writing into the profile: end the whole group we started.
    if (chrome.pid !== undefined) {
      try {
        process.kill(-chrome.pid, 'SIGKILL');
      } catch {}
    }
    try {
      rmSync(profile, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
    } catch (e) {
      // Cleanup only: a leftover temporary profile is not a test failure.
      console.warn(`could not remove ${profile}: ${(e as Error).message}`);
    }
  };
  try {
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
    return { cdp, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
