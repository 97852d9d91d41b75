/**
 * The status page in headless Chromium, driven over the DevTools protocol with `ws`: it loads without
 * console errors, and a call created through ng appears (the page refreshes itself, no reload).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  chromiumInstalled,
  MISSING_CHROMIUM,
  type RunningChromium,
  startChromium,
} from '../helpers/chromium.js';
import { NgUdp } from '../helpers/ng.js';
import { startTestDaemon } from './daemon.js';

const SDP =
  'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0\r\n';

test('status page in headless Chromium shows a call created through ng, without console errors', async (t) => {
  if (!chromiumInstalled()) {
    t.skip(MISSING_CHROMIUM);
    return;
  }
  const d = await startTestDaemon();
  let chrome: RunningChromium | undefined;
  const ng = new NgUdp(d.ngPort);
  try {
    chrome = await startChromium(d.spare[0]!);
    const cdp = chrome.cdp;
    await cdp.send('Page.navigate', { url: `http://127.0.0.1:${d.httpPort}/` });

    const body = async () => `body: ${String(await cdp.evaluate('document.body.innerText'))}`;
    const waitFor = (expr: string, what: string) => cdp.waitFor(expr, what, body);
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
    await chrome?.stop();
    await d.stop();
  }
});
