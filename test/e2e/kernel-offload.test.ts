/**
 * Kernel offload end to end, in three network namespaces (A - proxy - B) that the test creates: the daemon
 * runs with --kernel=require inside the proxy namespace; endpoints are agents in A and B.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { FRESH_MS } from '../../src/dataplane/kernel/offload.js';
import { parseCounters } from '../../src/dataplane/kernel/ruleset.js';
import type { BDict } from '../../src/wire/bencode.js';
import { reservePortBlock } from '../helpers/ports.js';
import {
  A_ADDR,
  A_ADDR6,
  Agent,
  B_ADDR,
  B_ADDR6,
  Netns,
  P_ADDR6_A,
  P_ADDR_A,
  netnsUnavailable,
} from './kernel-offload-netns.js';

const BIN = fileURLToPath(new URL('../../bin/sipmedia.js', import.meta.url));
const missing = netnsUnavailable();
if (missing) console.log(`MISSING PEER: kernel offload tests need network namespaces and nft: ${missing}`);

const net = new Netns('t');
let proxy: ChildProcess | undefined;
let proxyOut = '';
let ngPort = 0;
let portMin = 0;
let a: Agent;
let b: Agent;
let p: Agent;
let recDir = '';

function sdp(addr: string, port: number, fmts = '0 101'): string {
  const ip = addr.includes(':') ? 'IP6' : 'IP4';
  return `v=0\r\no=- 1 1 IN ${ip} ${addr}\r\ns=-\r\nc=IN ${ip} ${addr}\r\nt=0 0\r\nm=audio ${port} RTP/AVP ${fmts}\r\na=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n`;
}

function portOf(s: string): number {
  return Number(/m=audio (\d+)/.exec(s)?.[1]);
}

async function startDaemon(): Promise<void> {
  const base = reservePortBlock();
  ngPort = base;
  portMin = base + 10;
  proxyOut = '';
  proxy = net.spawn(net.p, [
    process.execPath,
    BIN,
    'proxy',
    `--interface=${P_ADDR_A}`,
    `--interface=${P_ADDR6_A}`,
    `--listen-ng=127.0.0.1:${ngPort}`,
    `--port-min=${portMin}`,
    `--port-max=${base + 109}`,
    `--recording-dir=${recDir}`,
    '--kernel=require',
    // The ruleset then also sets DSCP EF on what the kernel forwards.
    '--tos=184',
    '--log-level=6',
  ]);
  proxy.stdout?.on('data', (d) => {
    proxyOut += d;
  });
  proxy.stderr?.on('data', (d) => {
    proxyOut += d;
  });
  for (let i = 0; i < 100; i++) {
    if (proxy.exitCode !== null) break;
    const r = await p.ng(ngPort, { command: 'ping' }).catch(() => ({ result: 'x' }));
    if (r.result === 'pong') return;
  }
  throw new Error(`proxy did not come up:\n${proxyOut}`);
}

function tableName(): string {
  return `sipmedia_${proxy!.pid}`;
}

/** The kernel's per-stream counters (`src:sport>lport`), read directly from nft in the proxy namespace. */
function kernelCounters(family: 'ip' | 'ip6' = 'ip'): Map<string, number> {
  const m = new Map<string, number>();
  const table = family === 'ip' ? tableName() : `sipmedia6_${proxy!.pid}`;
  for (const c of parseCounters(net.exec(net.p, ['nft', '-j', 'list', 'map', family, table, 'streams']))) {
    const [src, sport, , lport] = c.key.split('|');
    m.set(`${src}:${sport}>${lport}`, c.packets);
  }
  return m;
}

async function until<T>(what: string, f: () => Promise<T | undefined>, tries = 100): Promise<T> {
  for (let i = 0; i < tries; i++) {
    const v = await f();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
  const dbg = await Promise.all([a.stats('a1').catch(() => 0), b.stats('b1').catch(() => 0)]);
  let q = '';
  try {
    q = JSON.stringify(await p.ng(ngPort, { command: 'query', 'call-id': 'k2' }));
  } catch {}
  throw new Error(
    `timed out waiting for ${what}\n${proxyOut}\n${JSON.stringify(dbg)}\n${q}\n${net.exec(net.p, ['nft', 'list', 'ruleset'])}`,
  );
}

/** RTP stream of the tag's first media, from `query`. */
// biome-ignore lint/suspicious/noExplicitAny: ng replies are read loosely in tests
async function rtpStream(callId: string, tag: string): Promise<Record<string, any>> {
  const q = await p.ng(ngPort, { command: 'query', 'call-id': callId });
  return q.tags[tag].medias[0].streams[0];
}

async function kernelized(callId: string, tag: string, want: boolean): Promise<void> {
  await until(`${tag} kernelized=${want}`, async () => {
    const s = await rtpStream(callId, tag);
    return s.flags.includes('kernelized') === want ? true : undefined;
  });
}

interface CallSetup {
  callId: string;
  pa: number;
  pb: number;
}

async function setupCall(
  callId: string,
  aPort: number,
  bPort: number,
  flags: string[],
  offerExtra: BDict = {},
  [aAddr, bAddr] = [A_ADDR, B_ADDR],
  answerFmts = '0 101',
  answerEdit: (sdp: string) => string = (x) => x,
): Promise<CallSetup> {
  const o = await p.ng(ngPort, {
    command: 'offer',
    'call-id': callId,
    'from-tag': 'ta',
    sdp: sdp(aAddr, aPort),
    flags,
    ...offerExtra,
  });
  assert.equal(o.result, 'ok', JSON.stringify(o));
  const an = await p.ng(ngPort, {
    command: 'answer',
    'call-id': callId,
    'from-tag': 'ta',
    'to-tag': 'tb',
    sdp: answerEdit(sdp(bAddr, bPort, answerFmts)),
    flags,
  });
  assert.equal(an.result, 'ok', JSON.stringify(an));
  return { callId, pa: portOf(an.sdp), pb: portOf(o.sdp) };
}

before(async () => {
  if (missing) return;
  recDir = mkdtempSync(join(tmpdir(), 'sipmedia-krec-'));
  net.create();
  a = new Agent(net, net.a);
  b = new Agent(net, net.b);
  p = new Agent(net, net.p);
  await startDaemon();
});

after(() => {
  for (const x of [a, b, p]) x?.kill();
  if (proxy && proxy.exitCode === null) proxy.kill('SIGKILL');
  net.destroy();
  if (recDir) rmSync(recDir, { recursive: true, force: true });
});

test('kernel forwards both ways after learning; counters in query; third parties stay out', {
  skip: missing ?? false,
}, async () => {
  const aPort = await a.bind('a1', A_ADDR);
  const bPort = await b.bind('b1', B_ADDR);
  await a.bind('evil', A_ADDR);
  const c = await setupCall('k1', aPort, bPort, ['strict source']);
  // Learning: the daemon relays the first packets itself.
  await a.send('a1', P_ADDR_A, c.pa, 3, { seq0: 0, ssrc: 11, gapMs: 5 });
  await b.send('b1', P_ADDR_A, c.pb, 3, { seq0: 0, ssrc: 22, gapMs: 5 });
  await kernelized('k1', 'ta', true);
  await kernelized('k1', 'tb', true);
  const before_ = await rtpStream('k1', 'ta');

  await a.send('a1', P_ADDR_A, c.pa, 200, { seq0: 3, ssrc: 11 });
  await b.send('b1', P_ADDR_A, c.pb, 150, { seq0: 3, ssrc: 22 });
  await until('B gets all of A', async () => ((await b.stats('b1')).unique === 203 ? true : undefined));
  await until('A gets all of B', async () => ((await a.stats('a1')).unique === 153 ? true : undefined));
  // Sent from our address and egress port, not A's.
  const bs = await b.stats('b1');
  assert.deepEqual(Object.keys(bs.from), [`${P_ADDR_A}:${c.pb}`]);

  // The kernel counted every packet after learning (and perhaps some of the 3 learning packets, once the entry
  // went in): the daemon's sockets saw at most the learning packets.
  const k = kernelCounters();
  const kA = k.get(`${A_ADDR}:${aPort}>${c.pa}`) ?? 0;
  const kB = k.get(`${B_ADDR}:${bPort}>${c.pb}`) ?? 0;
  assert.ok(kA >= 200 && kA <= 202, `kernel forwarded ${kA} of A's packets`);
  assert.ok(kB >= 150 && kB <= 152, `kernel forwarded ${kB} of B's packets`);
  // query merges them with the userspace counters (read every second): each packet counted exactly once.
  const merged = await until('merged counters', async () => {
    const s = await rtpStream('k1', 'ta');
    return s.stats.packets === 203 ? s : undefined;
  });
  assert.equal(merged.stats.bytes, 203 * 172);
  assert.ok(merged.flags.includes('kernelized'));
  void before_;

  // A third party (same host, other port) reaches the daemon, which drops it (strict source).
  await a.send('evil', P_ADDR_A, c.pa, 10, { seq0: 1000, ssrc: 99 });
  await until('third party dropped in userspace', async () => {
    const s = await rtpStream('k1', 'ta');
    return s.stats.dropped >= 10 ? true : undefined;
  });
  assert.equal((await b.stats('b1')).ssrcs['99'], undefined);
  assert.equal(kernelCounters().get(`${A_ADDR}:${aPort}>${c.pa}`), kA);

  // From A itself, RTCP on the RTP port (second byte 200) and a packet that is not RTP version 2 miss the
  // kernel's entry: the daemon counts all ten (and the five that are not RTP as errors).
  const before2 = (await rtpStream('k1', 'ta')).stats;
  await a.send('a1', P_ADDR_A, c.pa, 5, { seq0: 400, ssrc: 11, pt: 200 });
  await a.send('a1', P_ADDR_A, c.pa, 5, { seq0: 500, ssrc: 11, b0: 0x40 });
  const after2 = await until('the daemon sees the RTCP and version-1 packets', async () => {
    const st = (await rtpStream('k1', 'ta')).stats;
    return st.packets >= before2.packets + 10 && st.errors >= before2.errors + 5 ? st : undefined;
  });
  assert.equal(after2.packets, before2.packets + 10);
  assert.equal(kernelCounters().get(`${A_ADDR}:${aPort}>${c.pa}`), kA, 'the kernel forwarded none of them');
});

/**
 * A call set up with `subject`'s options beside a plain one (`control`): once the plain one is offloaded,
 * the subject must still be in userspace, and 50 more packets from A reach B through it. Names and SSRCs
 * come from `id`. Returns what A and B received of the subject call.
 */
async function staysInUserspace(
  id: string,
  subject: { offerExtra: BDict; answerFmts?: string; bPt?: number; answerEdit?: (sdp: string) => string },
  control: BDict = {},
) {
  const [a1, b1, a2, b2] = [`${id}a1`, `${id}b1`, `${id}a2`, `${id}b2`];
  const aPort = await a.bind(a1, A_ADDR);
  const bPort = await b.bind(b1, B_ADDR);
  const s = await setupCall(
    `${id}1`,
    aPort,
    bPort,
    [],
    subject.offerExtra,
    undefined,
    subject.answerFmts,
    subject.answerEdit,
  );
  const plain = await setupCall(`${id}2`, await a.bind(a2, A_ADDR), await b.bind(b2, B_ADDR), [], control);
  await a.send(a1, P_ADDR_A, s.pa, 3, { seq0: 0, ssrc: 51, gapMs: 5 });
  await b.send(b1, P_ADDR_A, s.pb, 3, { seq0: 0, ssrc: 52, gapMs: 5, pt: subject.bPt ?? 0 });
  await a.send(a2, P_ADDR_A, plain.pa, 3, { seq0: 0, ssrc: 53, gapMs: 5 });
  await b.send(b2, P_ADDR_A, plain.pb, 3, { seq0: 0, ssrc: 54, gapMs: 5 });
  // The plain call is offloaded; by then the subject has been decided too.
  await kernelized(`${id}2`, 'ta', true);
  assert.ok(!(await rtpStream(`${id}1`, 'ta')).flags.includes('kernelized'));
  await a.send(a1, P_ADDR_A, s.pa, 50, { seq0: 3, ssrc: 51 });
  await until('B gets all of A through userspace', async () =>
    (await b.stats(b1)).unique === 53 ? true : undefined,
  );
  assert.equal(kernelCounters().get(`${A_ADDR}:${aPort}>${s.pa}`), undefined);
  const got = { atA: await a.stats(a1), atB: await b.stats(b1) };
  for (const n of ['1', '2']) await p.ng(ngPort, { command: 'delete', 'call-id': `${id}${n}` });
  return got;
}

test('a call with a TOS of its own (not --tos) stays in userspace and is relayed there', {
  skip: missing ?? false,
}, async () => {
  await staysInUserspace('tos', { offerExtra: { TOS: 32 } }, { TOS: 184 });
});

test('a transcoded call (PCMU <-> PCMA) stays in userspace, where its packets are converted', {
  skip: missing ?? false,
}, async () => {
  const got = await staysInUserspace('xc', {
    offerExtra: { codec: { transcode: ['PCMA'] } },
    answerFmts: '8 101',
    bPt: 8,
  });
  assert.deepEqual(got.atB.pts, { 8: 53 }, 'every packet reached B as PCMA');
  assert.deepEqual(got.atA.pts, { 0: 3 }, 'and B reached A as PCMU');
});

test('an SDES-SRTP call stays in userspace: the kernel would forward it unencrypted', {
  skip: missing ?? false,
}, async () => {
  const key = Buffer.alloc(30, 5).toString('base64');
  const got = await staysInUserspace('sr', {
    offerExtra: { 'transport-protocol': 'RTP/SAVP' },
    answerEdit: (x) =>
      `${x.replace('RTP/AVP', 'RTP/SAVP')}a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:${key}\r\n`,
  });
  assert.equal(got.atB.unique, 53, 'every packet of A reached B through userspace (encrypted there)');
  assert.equal(got.atA.unique ?? 0, 0, "B's plain packets fail authentication: nothing reaches A");
});

test('IPv6: the ip6 table forwards both ways in kernel; counters in query subtract the IPv6 header', {
  skip: missing ?? false,
}, async () => {
  const aPort = await a.bind('a6', A_ADDR6);
  const bPort = await b.bind('b6', B_ADDR6);
  const c = await setupCall('k6', aPort, bPort, [], {}, [A_ADDR6, B_ADDR6]);
  await a.send('a6', P_ADDR6_A, c.pa, 3, { seq0: 0, ssrc: 61, gapMs: 5 });
  await b.send('b6', P_ADDR6_A, c.pb, 3, { seq0: 0, ssrc: 62, gapMs: 5 });
  await kernelized('k6', 'ta', true);
  await kernelized('k6', 'tb', true);
  await a.send('a6', P_ADDR6_A, c.pa, 100, { seq0: 3, ssrc: 61 });
  await b.send('b6', P_ADDR6_A, c.pb, 80, { seq0: 3, ssrc: 62 });
  await until('B gets all of A', async () => ((await b.stats('b6')).unique === 103 ? true : undefined));
  await until('A gets all of B', async () => ((await a.stats('a6')).unique === 83 ? true : undefined));
  assert.deepEqual(Object.keys((await b.stats('b6')).from), [`${P_ADDR6_A}:${c.pb}`]);
  const kA = kernelCounters('ip6').get(`${A_ADDR6}:${aPort}>${c.pa}`) ?? 0;
  assert.ok(kA >= 100 && kA <= 102, `kernel forwarded ${kA} of A's packets`);
  const merged = await until('merged counters', async () => {
    const s = await rtpStream('k6', 'ta');
    return s.stats.packets === 103 ? s : undefined;
  });
  assert.equal(merged.stats.bytes, 103 * 172, 'payload bytes: 48 bytes of IPv6 + UDP header taken off');
  await p.ng(ngPort, { command: 'delete', 'call-id': 'k6' });
});

/** A call with both directions kernelized after learning. */
async function kernelCall(id: string, an: string, bn: string): Promise<CallSetup & { aPort: number }> {
  const aPort = await a.bind(an, A_ADDR);
  const bPort = await b.bind(bn, B_ADDR);
  const c = await setupCall(id, aPort, bPort, []);
  await a.send(an, P_ADDR_A, c.pa, 3, { seq0: 0, ssrc: 33, gapMs: 5 });
  await b.send(bn, P_ADDR_A, c.pb, 3, { seq0: 0, ssrc: 44, gapMs: 5 });
  await kernelized(id, 'ta', true);
  return { ...c, aPort };
}

/**
 * Streams 400 packets at 100 pps from A while `on` and then `off` run, and checks every packet reached B, that
 * the stream left the kernel in between and came back after.
 */
async function tapCycle(id: string, an: string, bn: string, on: BDict, off: BDict, expectBack: boolean) {
  const c = await kernelCall(id, an, bn);
  const key = `${A_ADDR}:${c.aPort}>${c.pa}`;
  const sending = a.send(an, P_ADDR_A, c.pa, 400, { seq0: 3, ssrc: 33, gapMs: 10 });
  await new Promise((r) => setTimeout(r, 300));
  let r = await p.ng(ngPort, { ...on, 'call-id': id });
  assert.equal(r.result, 'ok', `${String(on.command)}: ${JSON.stringify(r)}`);
  await kernelized(id, 'ta', false);
  const kBefore = kernelCounters().get(key) ?? 0;
  await new Promise((r) => setTimeout(r, 300));
  // While tapped the kernel forwards nothing of this stream: its entry is gone.
  assert.equal(kernelCounters().get(key) ?? 0, kBefore);
  r = await p.ng(ngPort, { ...off, 'call-id': id });
  assert.equal(r.result, 'ok', JSON.stringify(r));
  let back = true;
  try {
    await kernelized(id, 'ta', true);
  } catch {
    back = false;
  }
  await sending;
  await until('B gets every packet', async () => ((await b.stats(bn)).unique === 403 ? true : undefined));
  if (expectBack) {
    assert.ok(back, 'kernelized again');
    assert.ok((kernelCounters().get(key) ?? 0) > 0, 'kernel forwards again');
  }
  return back;
}

test('blocking DTMF takes the stream back to userspace, unblocking re-offloads, no loss', {
  skip: missing ?? false,
}, async () => {
  await tapCycle('k2', 'a2', 'b2', { command: 'block DTMF' }, { command: 'unblock DTMF' }, true);
});

test('recording takes the stream back to userspace and stopping it re-offloads, without loss', {
  skip: missing ?? false,
}, async () => {
  assert.ok(
    await tapCycle('k4', 'a4', 'b4', { command: 'start recording' }, { command: 'stop recording' }, true),
    're-offloaded after stop recording',
  );
});

test('media handover re-keys the kernel entry with no loss either way', {
  skip: missing ?? false,
}, async () => {
  const a1 = await a.bind('h1', A_ADDR);
  const a2 = await a.bind('h2', A_ADDR);
  const bPort = await b.bind('hb', B_ADDR);
  const c = await setupCall('k3', a1, bPort, ['media handover']);
  await a.send('h1', P_ADDR_A, c.pa, 3, { seq0: 0, ssrc: 55, gapMs: 5 });
  await b.send('hb', P_ADDR_A, c.pb, 3, { seq0: 0, ssrc: 66, gapMs: 5 });
  await kernelized('k3', 'ta', true);
  await kernelized('k3', 'tb', true);
  // B streams for 3 s while A moves from its first socket to its second half-way.
  const fromB = b.send('hb', P_ADDR_A, c.pb, 300, { seq0: 3, ssrc: 66, gapMs: 10 });
  await a.send('h1', P_ADDR_A, c.pa, 100, { seq0: 3, ssrc: 55, gapMs: 10 });
  await a.send('h2', P_ADDR_A, c.pa, 100, { seq0: 103, ssrc: 55, gapMs: 10 });
  await fromB;
  await until('B gets all of A', async () => ((await b.stats('hb')).unique === 203 ? true : undefined));
  await until('A gets all of B on one socket or the other', async () => {
    const [s1, s2] = [await a.stats('h1'), await a.stats('h2')];
    return s1.count + s2.count >= 303 ? true : undefined;
  });
  const s2 = await a.stats('h2');
  assert.ok(s2.count > 0, 'B follows A to its new port');
  await kernelized('k3', 'ta', true);
  const k = kernelCounters();
  assert.ok((k.get(`${A_ADDR}:${a2}>${c.pa}`) ?? 0) > 0, 'the entry is keyed by the new source');
  assert.equal(k.get(`${A_ADDR}:${a1}>${c.pa}`), undefined);
});

test('query and statistics report kernel-forwarded packets at once; a deleted call keeps its last ones in the totals', {
  skip: missing ?? false,
}, async () => {
  const c = await kernelCall('k5', 'a5', 'b5');
  // One second of A's stream, all in the kernel (the periodic read comes only every 10 s).
  await a.send('a5', P_ADDR_A, c.pa, 100, { seq0: 3, ssrc: 33, gapMs: 10 });
  await until('B gets all of A', async () => ((await b.stats('b5')).unique === 103 ? true : undefined));
  const key = `${A_ADDR}:${c.aPort}>${c.pa}`;
  assert.ok((kernelCounters().get(key) ?? 0) >= 100, 'the kernel forwarded the stream');
  // A query may reuse counters read up to FRESH_MS ago (before the last packets): let that much time pass.
  await new Promise((r) => setTimeout(r, FRESH_MS + 50));
  // One query, no polling: the daemon reads the kernel's counters before answering.
  const s = await rtpStream('k5', 'ta');
  assert.equal(s.stats.packets, 103);
  assert.equal(s.stats.bytes, 103 * 172);
  const total = async () => (await p.ng(ngPort, { command: 'statistics' })).statistics.totalstatistics;
  const t0 = await total();

  // Packets forwarded just before a delete are read when the entries go: the totals lose none of them.
  await a.send('a5', P_ADDR_A, c.pa, 50, { seq0: 103, ssrc: 33 });
  await until('B gets the rest of A', async () => ((await b.stats('b5')).unique === 153 ? true : undefined));
  const r = await p.ng(ngPort, { command: 'delete', 'call-id': 'k5', 'delete delay': 0 });
  assert.equal(r.result, 'ok');
  const t1 = await until('totals with the last packets', async () => {
    const t = await total();
    return t.relayedpackets === t0.relayedpackets + 50 ? t : undefined;
  });
  assert.equal(t1.relayedbytes, t0.relayedbytes + 50 * 172);
  assert.equal(t1.managedsessions, t0.managedsessions);
});

test('delete removes the entries; the table is gone after kill -9', { skip: missing ?? false }, async () => {
  const n = kernelCounters().size;
  assert.ok(n >= 2);
  const r = await p.ng(ngPort, { command: 'delete', 'call-id': 'k3', 'delete delay': 0 });
  assert.equal(r.result, 'ok');
  await until('entries removed', async () => (kernelCounters().size === n - 2 ? true : undefined));
  const table = tableName();
  assert.match(net.exec(net.p, ['nft', 'list', 'tables']), new RegExp(table));
  proxy!.kill('SIGKILL');
  await until(
    'table gone',
    async () => (net.exec(net.p, ['nft', 'list', 'tables']).includes(table) ? undefined : true),
    100,
  );
});
