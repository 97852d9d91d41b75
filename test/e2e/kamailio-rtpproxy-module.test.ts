/**
 * Acceptance: Kamailio's `rtpproxy` module drives `sipmedia proxy` over the RTPproxy protocol (UDP, cookies)
 * between a sipp UAC and a sipp UAS with RTP both ways: 20 sequential and 10 concurrent calls complete, each
 * sipp gets SDP pointing at the proxy, and at every BYE Kamailio sends Q ($rtpstat) and then D. After the
 * delayed deletions have run, the proxy still answers on every control port (rtpengine 10.5 was once seen
 * to stop answering after exactly this sequence; see kamailio-captures/rtpp-query/README.txt).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { rtppStreamPipelined, rtppUdp } from '../control/rtpp-client.js';
import { reservePortBlock } from '../helpers/ports.js';
import { startProxy } from '../helpers/proxy.js';
import { receivedSdps, sippInstalled, startSipp, writeToneWav } from '../helpers/sipp.js';
import { kamailioRtpproxyInstalled, startKamailioRtpproxy } from './fixtures/rtpproxy/kamailio-rtpproxy.js';

const SEQUENTIAL = 20;
const CONCURRENT = 10;

function callIds(messages: string): string[] {
  return [...new Set([...messages.matchAll(/^Call-ID:\s*(\S+)/gim)].map((m) => m[1]!))];
}

test(`Kamailio rtpproxy module: ${SEQUENTIAL} sequential + ${CONCURRENT} concurrent calls, Q then D at every BYE`, async (t) => {
  if (!kamailioRtpproxyInstalled()) {
    t.skip('MISSING PEER: kamailio with the rtpproxy module (kamailio-extra-modules) not installed');
    return;
  }
  if (!sippInstalled()) {
    t.skip('MISSING PEER: sipp not installed');
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'sipmedia-e2e-rtpp-'));
  const base = reservePortBlock();
  const rtppUdpPort = base + 40;
  const rtppTcpPort = base + 41;
  const cleanups: (() => Promise<unknown>)[] = [];
  const logs: (() => string)[] = [];
  try {
    const proxy = await startProxy([
      `--listen-udp=127.0.0.1:${rtppUdpPort}`,
      `--listen-rtpproxy=tcp:127.0.0.1:${rtppTcpPort}`,
      '--delete-delay=1',
    ]);
    cleanups.push(() => proxy.stop());
    logs.push(() => `--- proxy\n${proxy.output()}`);
    writeToneWav(join(dir, 'tone.wav'), 600);
    const kam = await startKamailioRtpproxy({ dir, sipPort: base, uasPort: base + 2, rtppPort: rtppUdpPort });
    cleanups.push(() => kam.stop());
    logs.push(() => `--- kamailio\n${kam.output()}`);
    const ctx = (): string =>
      `\n${logs
        .map((l) => l())
        .join('\n')
        .slice(-8000)}`;

    const uas = startSipp({
      scenario: 'uas-rtp.xml',
      dir,
      name: 'uas',
      localPort: base + 2,
      controlPort: base + 6,
      mediaPort: base + 20,
      mediaIp: '127.0.0.5',
      args: ['-m', String(SEQUENTIAL + CONCURRENT)],
      timeoutMs: 60_000,
    });
    cleanups.push(() => uas.stop());
    const uac = (name: string, args: string[]) =>
      startSipp({
        scenario: 'uac-rtp.xml',
        dir,
        name,
        remote: `127.0.0.1:${base}`,
        localPort: base + 4,
        controlPort: base + 8,
        mediaPort: base + 100,
        mediaIp: '127.0.0.4',
        args: ['-s', 'service', ...args],
        timeoutMs: 40_000,
      }).done;
    const seq = await uac('uac-seq', ['-m', String(SEQUENTIAL), '-l', '1', '-r', '50']);
    const conc = await uac('uac-conc', ['-m', String(CONCURRENT), '-l', String(CONCURRENT), '-r', '100']);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([uas.done, new Promise((r) => (timer = setTimeout(r, 5000)))]);
    clearTimeout(timer);
    await uas.stop();

    assert.equal(seq.successful, SEQUENTIAL, `sequential calls${ctx()}`);
    assert.equal(conc.successful, CONCURRENT, `concurrent calls${ctx()}`);
    assert.equal(seq.failed + conc.failed, 0);

    // Every answer the UAC saw points at the proxy (127.0.0.1, a port of its range), not at the UAS.
    const sdps = [...receivedSdps(seq.messages), ...receivedSdps(conc.messages)];
    assert.equal(sdps.length, SEQUENTIAL + CONCURRENT);
    for (const s of sdps) {
      assert.match(s, /^c=IN IP4 127\.0\.0\.1$/m, s);
      const port = Number(/^m=audio (\d+) /m.exec(s)?.[1]);
      assert.ok(port >= proxy.portMin && port <= proxy.portMax, `m= port ${port} outside the proxy range`);
    }

    // Q at every BYE: `ttl npkts_ina npkts_ino nrelayed ndropped`, with packets from both parties.
    const stats = new Map<string, number[]>();
    for (const m of kam.output().matchAll(/RTPSTAT (\S+) \[([^\]]*)\]/g))
      stats.set(m[1]!, m[2]!.trim().split(/\s+/).map(Number));
    const ids = [...callIds(seq.messages), ...callIds(conc.messages)];
    assert.equal(ids.length, SEQUENTIAL + CONCURRENT);
    for (const id of ids) {
      const s = stats.get(id);
      assert.ok(s && s.length === 5, `no Q reply logged for ${id}: ${JSON.stringify(s)}${ctx()}`);
      assert.ok(s[1]! > 0 && s[2]! > 0, `call ${id}: packets from both parties expected, got ${s.join(' ')}`);
      assert.ok(s[3]! > 0, `call ${id}: nothing relayed`);
    }
    assert.doesNotMatch(kam.output(), /RTPP-(OFFER|ANSWER)-FAILED/);

    // The delayed deletions run (delete-delay 1 s): wait until the proxy holds no call, bounded.
    let left = -1;
    for (let i = 0; i < 50 && left !== 0; i++) {
      const l = await proxy.ng.request({ command: 'list', limit: 1000 });
      left = Array.isArray(l.calls) ? l.calls.length : -1;
      if (left !== 0) await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(left, 0, 'calls still held after the delete delay');

    // ...and every control port still answers.
    assert.equal(await rtppUdp(rtppUdpPort, 'V'), '20040107');
    const tcp = await rtppStreamPipelined(rtppTcpPort, ['V', 'Ib'], 6);
    assert.deepEqual(tcp.slice(0, 4), [
      '20040107',
      `sessions created: ${SEQUENTIAL + CONCURRENT}`,
      'active sessions: 0',
      'active streams: 0',
    ]);
    assert.equal((await proxy.ng.request({ command: 'ping' })).result, 'pong');
  } finally {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
    if (process.env.KEEP_E2E_DIR !== '1') rmSync(dir, { recursive: true, force: true });
  }
});
